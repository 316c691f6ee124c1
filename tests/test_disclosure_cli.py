"""``claim add`` and ``claim list`` on a real SQLite log (the runtime's inject is stood in for)."""

from __future__ import annotations

import sys
import types
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skywarden.disclosure.cli import claim_app
from skywarden.disclosure.stage import DisclosureStage
from skywarden.events import ClaimRecorded, Event, InputEvent, KillNumbered, NightOpened, Tick
from skywarden.log import open_log
from skywarden.scenario import LoadedScenario

runner = CliRunner()


def _night(path: Path, scenario: LoadedScenario) -> None:
    log = open_log(str(path))
    t = scenario.at("02:10")
    c = scenario.spec.city
    kills = [
        KillNumbered(t=t + timedelta(minutes=i), report_id=f"R{i}", number=i, day_number=i, local_time="",
                     incident_id=f"INC-R{i}", track_id=None, matched_by="unmatched",
                     lat=c.lat - 0.16, lon=c.lon - 0.28, alt=0.0)
        for i in (1, 2, 3)
    ]  # fmt: skip
    log.append([NightOpened(t=scenario.start, scenario="moscow", seed=1, tick_s=1.0, timezone="Europe/Moscow"),
                *kills, Tick(t=scenario.at("03:30"))])  # fmt: skip
    log.close()


@pytest.fixture()
def injected(
    monkeypatch: pytest.MonkeyPatch, scenario: LoadedScenario
) -> list[Sequence[InputEvent]]:
    """A stand-in for ``skywarden.runtime.inject``: append the inputs and a tick, run the stage."""
    calls: list[Sequence[InputEvent]] = []

    def inject(log_url: str, events: Sequence[InputEvent]) -> list[Event]:
        calls.append(events)
        log = open_log(log_url)
        try:
            old = [r.event() for r in log.read()]
            now = max(e.t for e in old) + timedelta(seconds=1)
            new: list[Event] = [*events, Tick(t=now)]
            derived = DisclosureStage(scenario).step(now, [*old, *new])
            log.append([*new, *derived])
            return derived
        finally:
            log.close()

    monkeypatch.setitem(sys.modules, "skywarden.runtime", types.SimpleNamespace(inject=inject))
    return calls


def test_claim_add_records_and_reports_the_verdict(
    tmp_path: Path, scenario: LoadedScenario, injected: list
) -> None:
    db = tmp_path / "night.db"
    _night(db, scenario)
    args = ["add", "--log", str(db), "--source", "Channel X", "--what", "kill", "--count", "12",
            "--from", "02:00", "--to", "03:00", "--where", "south-west",
            "--text", "12 drones shot down over the south-west"]  # fmt: skip
    res = runner.invoke(claim_app, args)
    assert res.exit_code == 0, res.output
    assert "CL-0001" in res.output and "contradicted" in res.output and "R1, R2, R3" in res.output
    (sent,) = injected
    (c,) = sent
    assert isinstance(c, ClaimRecorded)
    assert (
        c.when_from == scenario.at("02:00") and c.when_to == scenario.at("03:00") and c.count == 12
    )
    res = runner.invoke(claim_app, ["add", "--log", str(db), "--source", "Witness", "--what", "kill", "--count", "3",
                                    "--from", "2025-03-11T02:00:00+03:00", "--to", "03:00", "--where", "south-west"])  # fmt: skip
    assert res.exit_code == 0 and "CL-0002" in res.output and "confirmed" in res.output
    listing = runner.invoke(claim_app, ["list", "--log", str(db)], env={"COLUMNS": "250"})
    assert listing.exit_code == 0
    assert "CL-0001" in listing.output and "contradicted" in listing.output
    assert "CL-0002" in listing.output and "confirmed" in listing.output


def test_claim_add_rejects_bad_input(
    tmp_path: Path, scenario: LoadedScenario, injected: list
) -> None:
    db = tmp_path / "night.db"
    _night(db, scenario)
    res = runner.invoke(
        claim_app, ["add", "--log", str(db), "--source", "X", "--what", "kill", "--from", "02:00Z"]
    )
    assert res.exit_code != 0 and "--from" in res.output
    res = runner.invoke(
        claim_app, ["add", "--log", str(tmp_path / "none.db"), "--source", "X", "--what", "kill"]
    )
    assert res.exit_code != 0 and "no event log" in res.output
    res = runner.invoke(
        claim_app, ["add", "--log", str(db), "--source", "X", "--what", "kill", "--lat", "55.7"]
    )
    assert res.exit_code != 0
    assert injected == []


def test_help_shows_examples() -> None:
    res = runner.invoke(claim_app, ["add", "--help"])
    assert res.exit_code == 0 and "skywarden claim add --log night.db" in res.output
