"""``statement list/approve/reject/edit`` on a real SQLite log; the runtime is stood in for by a
replay of the disclosure stage alone (the same cut into ticks the runtime writes)."""

from __future__ import annotations

import sys
import types
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skywarden.disclosure.cli import statement_app
from skywarden.disclosure.stage import DisclosureStage, replay_statements
from skywarden.events import Event, InputEvent, KillNumbered, NightOpened, Tick, is_input
from skywarden.log import open_log
from skywarden.scenario import LoadedScenario

runner = CliRunner()


def _replayed(scenario: LoadedScenario, events: Sequence[Event]) -> DisclosureStage:
    stage = DisclosureStage(scenario)
    batch: list[Event] = []
    tick: datetime | None = None
    for e in events:
        if tick is not None and (isinstance(e, Tick) or is_input(e)):
            stage.step(tick, batch)
            batch, tick = [], None
        batch.append(e)
        if isinstance(e, Tick):
            tick = e.t
    if tick is not None:
        stage.step(tick, batch)
    return stage


@pytest.fixture()
def night(tmp_path: Path, scenario: LoadedScenario, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A log in which the stage drafted ST-0001 (one kill), and a stand-in runtime for it."""
    db = tmp_path / "night.db"
    log = open_log(str(db))
    stage = DisclosureStage(scenario)
    now = scenario.at("02:00")
    log.append(
        [
            NightOpened(
                t=scenario.start, scenario="moscow", seed=1, tick_s=1.0, timezone="Europe/Moscow"
            )
        ]
    )
    k = KillNumbered(t=now, report_id="R1", number=1, day_number=1, local_time="02:00", incident_id="INC-R1",
                     track_id=None, matched_by="unmatched", lat=55.75, lon=37.62, alt=0.0)  # fmt: skip
    for i in range(0, 200, 10):
        t = now + timedelta(seconds=i)
        inputs: list[Event] = [k] if i == 0 else []
        log.append([*inputs, Tick(t=t), *stage.step(t, [*inputs, Tick(t=t)])])
    log.close()

    def inject(log_url: str, events: Sequence[InputEvent]) -> list[Event]:
        lg = open_log(log_url)
        try:
            old = [r.event() for r in lg.read()]
            st = _replayed(scenario, old)
            t = max(e.t for e in old) + timedelta(seconds=1)
            derived = st.step(t, [*events, Tick(t=t)])
            lg.append([*events, Tick(t=t), *derived])
            return derived
        finally:
            lg.close()

    fake = types.SimpleNamespace(inject=inject, scenario_of=lambda night, override=None: scenario)
    monkeypatch.setitem(sys.modules, "skywarden.runtime", fake)
    return db


def test_list_then_approve_publishes(night: Path, scenario: LoadedScenario) -> None:
    res = runner.invoke(statement_app, ["list", "--log", str(night)], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "ST-0001" in res.output and "drafted" in res.output and "0/1" in res.output
    res = runner.invoke(
        statement_app, ["approve", "ST-0001", "--log", str(night), "--officer", "duty-1"]
    )
    assert res.exit_code == 0, res.output
    assert "published ST-0001, approved by duty-1" in res.output
    log = open_log(str(night))
    statements = replay_statements(scenario, [r.event() for r in log.read()])
    log.close()
    assert statements["ST-0001"].state == "published"
    assert [(a.action, a.officer) for a in statements["ST-0001"].history] == [
        ("approved", "duty-1"),
        ("published", ""),
    ]


def test_wrong_role_is_refused_and_logged(night: Path) -> None:
    res = runner.invoke(
        statement_app,
        ["approve", "ST-0001", "--log", str(night), "--officer", "press-1", "--role", "publisher"],
    )
    assert (
        res.exit_code == 1 and "refused" in res.output and "holds the role 'editor'" in res.output
    )
    res = runner.invoke(
        statement_app, ["approve", "ST-0042", "--log", str(night), "--officer", "duty-1"]
    )
    assert res.exit_code == 1 and "unknown statement" in res.output


def test_edit_then_reject(night: Path, scenario: LoadedScenario) -> None:
    res = runner.invoke(statement_app, ["edit", "ST-0001", "--log", str(night), "--officer", "press-1",
                                        "--en", "02:00. A drone was destroyed.", "--ru", "02:00. Беспилотник уничтожен."])  # fmt: skip
    assert res.exit_code == 0, res.output
    leak = runner.invoke(statement_app, ["edit", "ST-0001", "--log", str(night), "--officer", "press-1",
                                         "--en", "Destroyed at 55.7512, 37.6184", "--ru", "Уничтожен"])  # fmt: skip
    assert leak.exit_code == 1 and "coordinate" in leak.output and "en[13:20]" in leak.output
    res = runner.invoke(
        statement_app,
        ["reject", "ST-0001", "--log", str(night), "--officer", "duty-2", "--reason", "wait"],
    )
    assert res.exit_code == 0, res.output
    log = open_log(str(night))
    st = replay_statements(scenario, [r.event() for r in log.read()])["ST-0001"]
    log.close()
    assert st.state == "rejected" and st.text_en == "02:00. A drone was destroyed."
    assert [a.action for a in st.history] == ["edited", "rejected"]


def test_approve_binds_to_the_text_read(night: Path, scenario: LoadedScenario) -> None:
    from skywarden.disclosure.binding import text_sha256

    log = open_log(str(night))
    draft = replay_statements(scenario, [r.event() for r in log.read()])["ST-0001"]
    log.close()
    read = text_sha256(draft.text_en, draft.text_ru)
    listed = runner.invoke(statement_app, ["list", "--log", str(night)], env={"COLUMNS": "300"})
    assert read[:12] in listed.output
    res = runner.invoke(statement_app, ["edit", "ST-0001", "--log", str(night), "--officer", "press-1",
                                        "--en", "02:00. A drone was destroyed.", "--ru", "02:00. Беспилотник уничтожен."])  # fmt: skip
    assert res.exit_code == 0, res.output
    stale = runner.invoke(statement_app, ["approve", "ST-0001", "--log", str(night), "--officer", "duty-1",
                                          "--text-sha256", read[:12]])  # fmt: skip
    assert stale.exit_code == 1 and "edited since it was read" in " ".join(stale.output.split())
    edited = text_sha256("02:00. A drone was destroyed.", "02:00. Беспилотник уничтожен.")
    res = runner.invoke(statement_app, ["approve", "ST-0001", "--log", str(night), "--officer", "duty-1",
                                        "--text-sha256", edited[:16]])  # fmt: skip
    assert res.exit_code == 0 and "published ST-0001" in res.output, res.output
