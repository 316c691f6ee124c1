"""The service's commands: a live night refuses to start without users; users are written with
argon2 hashes; every command has --help with an example."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from skywarden.cli import app
from skywarden.errors import SkywardenError
from skywarden.service.users import UserStore

runner = CliRunner()


def test_a_live_night_refuses_to_start_without_a_users_file(tmp_path: Path) -> None:
    r = runner.invoke(app, ["serve", "--log", str(tmp_path / "n.sqlite"), "--bind", "127.0.0.1:9"])
    assert r.exit_code == 2
    assert "needs a users file" in r.output
    assert not (tmp_path / "n.sqlite").exists()  # nothing was started


def test_users_add_and_list(tmp_path: Path) -> None:
    f = tmp_path / "users.toml"
    r = runner.invoke(app, ["users", "add", "anna", "--role", "approver", "--file", str(f), "--name", "Anna P.", "--password-stdin"],
                      input="a long enough password\n")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert UserStore.load(f).verify("anna", "a long enough password") is not None
    r = runner.invoke(app, ["users", "add", "bob", "--role", "captain", "--file", str(f), "--password-stdin"], input="another long password\n")
    assert r.exit_code == 2 and "role" in r.output
    r = runner.invoke(app, ["users", "list", "--file", str(f)])
    assert r.exit_code == 0 and "anna" in r.output and "approver" in r.output and "argon2" not in r.output


def test_the_service_commands_have_help_with_an_example() -> None:
    for cmd in (["serve"], ["users", "add"], ["users", "list"]):
        r = runner.invoke(app, [*cmd, "--help"])
        assert r.exit_code == 0 and "Example:" in r.output


def test_serve_takes_the_wait_between_ticks_and_refuses_an_absurd_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--min-tick reaches the live night (the night is stopped as it opens: nothing is served);
    a value outside 0.005-5 s is refused before anything starts."""
    from skywarden.service import live as live_mod

    seen: list[float] = []

    def refuse_open(self: live_mod.LiveNight) -> None:
        seen.append(self.min_tick_s)
        raise SkywardenError("stopped by the test")

    monkeypatch.setattr(live_mod.LiveNight, "open", refuse_open)
    runner = CliRunner()
    r = runner.invoke(app, ["serve", "--exercise", "--log", str(tmp_path / "n.sqlite"), "--state-dir", str(tmp_path), "--min-tick", "0.02"])
    assert seen == [0.02] and r.exit_code != 0 and "stopped by the test" in r.output
    r = runner.invoke(app, ["serve", "--exercise", "--log", str(tmp_path / "n.sqlite"), "--min-tick", "0"])
    assert r.exit_code == 2 and seen == [0.02]
