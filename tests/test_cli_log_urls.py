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


@pytest.fixture(scope="module")
def pg_night() -> Iterator[str]:
    """A two-minute night played by `run` into a fresh PostgreSQL log (once for the module); the
    table dropped after."""
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


def _records(url: str) -> list[str]:
    from skywarden.log import open_log

    log = open_log(url)
    try:
        return [r.event().__class__.__name__ for r in log.read()]
    finally:
        log.close()


@pytest.mark.postgres
def test_run_writes_to_postgresql_not_a_file(pg_night: str, in_tmp: Path) -> None:
    kinds = _records(pg_night)
    assert kinds[0] == "NightOpened" and kinds.count("Tick") == 120
    assert _files(in_tmp) == []
    assert "waiting" not in _ok("run", "--log", pg_night, "--until", "00:02", "--resume")  # resumed there: nothing to add
    assert _records(pg_night) == kinds


@pytest.mark.postgres
def test_log_verify_and_tail_read_postgresql(pg_night: str, in_tmp: Path) -> None:
    assert "chain intact" in _ok("log", "verify", pg_night)
    assert "night_opened" not in _ok("log", "tail", pg_night, "-n", "3") and _files(in_tmp) == []


@pytest.mark.postgres
def test_replay_reads_postgresql_and_writes_out_to_postgresql(pg_night: str, in_tmp: Path) -> None:
    from skywarden.log.postgres import PostgresLog

    assert "identical" in _ok("replay", pg_night)
    out_url = with_log(PG_URL, f"cli{uuid.uuid4().hex[:10]}")
    try:
        assert "identical" in _ok("replay", pg_night, "--out", out_url)
        a, b = PostgresLog(pg_night), PostgresLog(out_url)
        assert [r.hash for r in a.read()] == [r.hash for r in b.read()]  # one opening, as the source
        a.close()
        b.close()
    finally:
        PostgresLog(out_url).drop()
    assert _files(in_tmp) == []


@pytest.mark.postgres
def test_report_reads_postgresql(pg_night: str, in_tmp: Path) -> None:
    assert "report:" in _ok("report", pg_night, "--out", str(in_tmp / "rep"))
    assert [f for f in _files(in_tmp) if not f.startswith("rep/")] == []  # only the report's own files


@pytest.mark.postgres
def test_claim_add_and_list_on_postgresql(pg_night: str, in_tmp: Path) -> None:
    before = _records(pg_night)
    out = _ok("claim", "add", "--log", pg_night, "--source", "X", "--what", "kill", "--count", "2")
    claim_id = out.split("recorded ")[1].split()[0]
    after = _records(pg_night)
    assert after[: len(before)] == before and "ClaimRecorded" in after[len(before) :]  # the tick went to PostgreSQL
    assert claim_id in _ok("claim", "list", "--log", pg_night)
    assert _files(in_tmp) == []


@pytest.mark.postgres
def test_statement_list_and_reject_on_postgresql(pg_night: str, in_tmp: Path) -> None:
    _ok("statement", "list", "--log", pg_night)
    before = len(_records(pg_night))
    refused = runner.invoke(app, ["statement", "reject", "ST-9999", "--log", pg_night, "--officer", "duty-1"])
    assert refused.exit_code == 1 and "refused" in refused.output  # the stages, on that log, refused it
    assert "InputRefused" in _records(pg_night)[before:]
    assert _files(in_tmp) == []


@pytest.mark.postgres
def test_incident_list_reads_postgresql(pg_night: str, in_tmp: Path) -> None:
    assert "Incidents" in _ok("incident", "list", "--log", pg_night)
    assert _files(in_tmp) == []


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
