"""``statement list/approve/reject/edit`` on a real SQLite log; the runtime is stood in for by a
replay of the disclosure stage alone (the same cut into ticks the runtime writes)."""

from __future__ import annotations

import functools
import sys
import types
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from skywarden.disclosure.cli import statement_app
from skywarden.disclosure.policy import PolicyRules, load_rules
from skywarden.disclosure.stage import DisclosureConfig, DisclosureStage, replay_statements
from skywarden.events import (
    AccessAudited,
    Event,
    InputEvent,
    KillNumbered,
    NightOpened,
    Tick,
    is_input,
)
from skywarden.log import open_log
from skywarden.scenario import LoadedScenario
from skywarden.service.users import add_user

runner = CliRunner()


def _replayed(scenario: LoadedScenario, events: Sequence[Event], config: DisclosureConfig | None = None) -> DisclosureStage:
    stage = DisclosureStage(scenario, config)
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


def _two_approvers() -> DisclosureConfig:
    raw = msgspec.to_builtins(load_rules())
    raw["approval"]["approvers"] = 2
    return DisclosureConfig(policy=msgspec.convert(raw, PolicyRules))


@pytest.fixture(params=[1])
def night(tmp_path: Path, scenario: LoadedScenario, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Path:
    """A log in which the stage drafted ST-0001 (one kill), and a stand-in runtime for it; the
    policy asks for ``request.param`` approvers."""
    config = _two_approvers() if request.param == 2 else None
    db = tmp_path / "night.db"
    log = open_log(str(db))
    stage = DisclosureStage(scenario, config)
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
            st = _replayed(scenario, old, config)
            t = max(e.t for e in old) + timedelta(seconds=1)
            derived = st.step(t, [*events, Tick(t=t)])
            lg.append([*events, Tick(t=t), *derived])
            return derived
        finally:
            lg.close()

    fake = types.SimpleNamespace(inject=inject, scenario_of=lambda night, override=None: scenario)
    monkeypatch.setitem(sys.modules, "skywarden.runtime", fake)
    if config is not None:  # the commands read the statements as the night's policy has them
        import skywarden.disclosure.stage as stage_module

        monkeypatch.setattr(stage_module, "replay_statements", functools.partial(replay_statements, config=config))
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


# ---------------------------------------------------------------- two approvers are two people


def _audits(night: Path) -> list[AccessAudited]:
    log = open_log(str(night))
    try:
        return [e for r in log.read() if isinstance(e := r.event(), AccessAudited)]
    finally:
        log.close()


def _approve(night: Path, officer: str, password: str | None = None) -> object:
    env = {"SKYWARDEN_PASSWORD": password} if password else {}
    return runner.invoke(statement_app, ["approve", "ST-0001", "--log", str(night), "--officer", officer], env=env)


@pytest.mark.parametrize("night", [2], indirect=True)
def test_two_approvers_by_name_alone_are_refused_and_audited(night: Path, scenario: LoadedScenario) -> None:
    res = _approve(night, "duty-1")
    assert res.exit_code == 1 and "names alone do not prove 2 people" in " ".join(res.output.split())  # type: ignore[attr-defined]
    (audit,) = _audits(night)
    assert (audit.user, audit.action, audit.target, audit.remote) == ("duty-1", "refused", "statement approve ST-0001", "cli")
    log = open_log(str(night))
    st = replay_statements(scenario, [r.event() for r in log.read()], _two_approvers())["ST-0001"]
    log.close()
    assert st.state == "drafted" and not st.approvals


@pytest.mark.parametrize("night", [2], indirect=True)
def test_two_approvers_sign_in_with_the_users_file_beside_the_log(night: Path, scenario: LoadedScenario) -> None:
    users = night.parent / "users.toml"
    add_user(users, "duty-1", "approver", "first-secret-pass")
    add_user(users, "duty-2", "approver", "second-secret-pass")
    wrong = _approve(night, "duty-1", "second-secret-pass")  # one shell, the other officer's password
    assert wrong.exit_code == 1 and "sign-in failed" in wrong.output  # type: ignore[attr-defined]
    assert [(a.user, a.action) for a in _audits(night)] == [("duty-1", "login_failed")]
    first = _approve(night, "duty-1", "first-secret-pass")
    assert first.exit_code == 0 and "approval of ST-0001 accepted" in first.output, first.output  # type: ignore[attr-defined]
    again = _approve(night, "duty-1", "first-secret-pass")  # the same person twice is one approver
    assert again.exit_code == 1 and "refused" in again.output  # type: ignore[attr-defined]
    second = _approve(night, "duty-2", "second-secret-pass")
    assert second.exit_code == 0 and "published ST-0001, approved by duty-1, duty-2" in second.output, second.output  # type: ignore[attr-defined]
    log = open_log(str(night))
    st = replay_statements(scenario, [r.event() for r in log.read()], _two_approvers())["ST-0001"]
    log.close()
    assert st.state == "published" and st.approved_by == ["duty-1", "duty-2"]
