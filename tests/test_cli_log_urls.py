"""Every command that takes a log takes a log URL: postgresql:// and nats:// reach their backends
(never a local file named after the URL), and an unknown scheme is a clear error."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skywarden.cli import app
from tests.test_log_contract import NATS_URL, PG_URL, nats_unavailable, pg_unavailable, with_log

runner = CliRunner()


@pytest.fixture()
def in_tmp(tmp_path: Path) -> Iterator[Path]:
    """Run in an empty folder, so that a log URL taken for a path would show as a new file."""
    before = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(before)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture()
def pg_night(in_tmp: Path) -> Iterator[str]:
    """A two-minute night played into a fresh PostgreSQL log; the table dropped after."""
    if reason := pg_unavailable():
        pytest.skip(reason)
    from skywarden.log.postgres import PostgresLog

    url = with_log(PG_URL, f"cli{uuid.uuid4().hex[:10]}")
    try:
        res = runner.invoke(app, ["run", "--log", url, "--until", "00:02"])
        assert res.exit_code == 0, res.output
        yield url
    finally:
        PostgresLog(url).drop()


def _ok(*args: str) -> str:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return " ".join(res.output.split())  # (rich wraps long lines)


@pytest.mark.postgres
def test_every_command_reads_and_writes_a_postgresql_log(pg_night: str, in_tmp: Path) -> None:
    from skywarden.log import open_log

    url = pg_night
    assert "appended" not in url and _files(in_tmp) == []  # run wrote nothing here
    log = open_log(url)
    records = log.verify().records
    log.close()
    assert records > 100
    assert "chain intact" in _ok("log", "verify", url)
    assert "tick" not in _ok("log", "tail", url, "-n", "3")  # (ticks hidden) it read the log
    assert "identical" in _ok("replay", url)
    out_url = with_log(PG_URL, f"cli{uuid.uuid4().hex[:10]}")
    try:
        assert "identical" in _ok("replay", url, "--out", out_url)
        a, b = open_log(url), open_log(out_url)
        assert [r.hash for r in a.read()] == [r.hash for r in b.read()]  # one opening, as the source
        a.close()
        b.close()
    finally:
        from skywarden.log.postgres import PostgresLog

        PostgresLog(out_url).drop()
    assert "report:" in _ok("report", url, "--out", str(in_tmp / "rep"))
    assert "recorded CL-0001" in _ok("claim", "add", "--log", url, "--source", "X", "--what", "kill", "--count", "2")
    assert "CL-0001" in _ok("claim", "list", "--log", url)
    _ok("statement", "list", "--log", url)
    refused = runner.invoke(app, ["statement", "reject", "ST-9999", "--log", url, "--officer", "duty-1"])
    assert refused.exit_code == 1 and "refused" in refused.output  # the stages, on that log, refused it
    _ok("incident", "list", "--log", url)
    log = open_log(url)
    kinds = [r.event().__class__.__name__ for r in log.read(after=records)]
    log.close()
    assert "ClaimRecorded" in kinds and "InputRefused" in kinds  # both injected ticks went to PostgreSQL
    assert [f for f in _files(in_tmp) if not f.startswith("rep/")] == []  # only the report's own files


@pytest.mark.nats
def test_run_and_verify_a_nats_log(in_tmp: Path) -> None:
    if reason := nats_unavailable():
        pytest.skip(reason)
    from skywarden.log.nats import NatsLog

    url = with_log(NATS_URL, f"cli{uuid.uuid4().hex[:10]}")
    try:
        _ok("run", "--log", url, "--until", "00:01")
        assert "chain intact" in _ok("log", "verify", url)
        assert "identical" in _ok("replay", url)
        assert "CL-0001" in _ok("claim", "add", "--log", url, "--source", "X", "--what", "kill")
    finally:
        NatsLog(url).drop()
    assert _files(in_tmp) == []


UNKNOWN = "kafka://broker:9092/night"


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--log", UNKNOWN, "--until", "00:01"],
        ["replay", UNKNOWN],
        ["report", UNKNOWN],
        ["log", "verify", UNKNOWN],
        ["log", "tail", UNKNOWN],
        ["claim", "add", "--log", UNKNOWN, "--source", "X", "--what", "kill"],
        ["claim", "list", "--log", UNKNOWN],
        ["statement", "list", "--log", UNKNOWN],
        ["statement", "reject", "ST-0001", "--log", UNKNOWN, "--officer", "duty-1"],
        ["incident", "list", "--log", UNKNOWN],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_an_unknown_scheme_is_a_clear_error_and_no_file(args: list[str], in_tmp: Path) -> None:
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "unknown event-log URL" in " ".join(res.output.split())
    assert _files(in_tmp) == []
