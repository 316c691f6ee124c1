"""Stage snapshots (skywarden.snapshot): a tick injected into a played night from the snapshot is
the tick a full replay gives, and a snapshot that is not exactly the log's state is ignored."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from skywarden import runtime, snapshot
from skywarden.events import ClaimAssessed, ClaimRecorded
from skywarden.log import MemoryLog, open_log
from skywarden.pipeline import DEFAULT_ORDER
from skywarden.play import play_night
from skywarden.scenario import LoadedScenario

UNTIL = "00:15"
CAN_SPLIT = hasattr(os, "fork") and (os.cpu_count() or 1) >= 2


def _claim(scenario: LoadedScenario, n: int) -> ClaimRecorded:
    return ClaimRecorded(
        t=scenario.at(UNTIL), claim_id=f"CL-{n:04d}", source="Channel X", what="kill", count=3,
        when_from=scenario.at("00:00"), when_to=scenario.at(UNTIL), where="south-west",
        text="three drones shot down over the south-west",
    )  # fmt: skip


def _play(folder: Path, scenario: LoadedScenario, workers: int) -> Path:
    db = folder / "night.sqlite"
    log = open_log(db)
    try:
        play_night(scenario, log, until=scenario.at(UNTIL), workers=workers)
    finally:
        log.close()
    return db


def _hashes(db: Path) -> list[bytes]:
    log = open_log(db)
    try:
        return [r.hash for r in log.read()]
    finally:
        log.close()


@pytest.fixture(scope="module", params=[1, pytest.param(2, marks=pytest.mark.skipif(
    not CAN_SPLIT, reason="two processes need fork and two cores"))])  # fmt: skip
def played(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, scenario) -> Path:
    return _play(tmp_path_factory.mktemp(f"played{request.param}"), scenario, request.param)


@pytest.fixture()
def no_replay(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the replays inject makes (and still makes them)."""
    calls: list[int] = []
    real = runtime.replay

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(runtime, "replay", counting)
    return calls


def test_an_injected_tick_from_the_snapshot_is_the_replayed_one(
    played: Path, tmp_path: Path, scenario: LoadedScenario, no_replay: list[int]
) -> None:
    assert snapshot.snapshot_path(open_log(played)) == played.with_name("night.sqlite.stages")
    fast, slow = tmp_path / "fast", tmp_path / "slow"
    fast.mkdir(), slow.mkdir()
    shutil.copy(played, fast / "night.sqlite")
    shutil.copy(played.with_name("night.sqlite.stages"), fast / "night.sqlite.stages")
    shutil.copy(played, slow / "night.sqlite")  # no snapshot: inject replays
    claims = [_claim(scenario, 1)]
    got_fast = runtime.inject(str(fast / "night.sqlite"), claims)
    assert no_replay == []
    got_slow = runtime.inject(str(slow / "night.sqlite"), claims)
    assert no_replay == [1]
    assert got_fast == got_slow and any(isinstance(e, ClaimAssessed) for e in got_fast)
    assert _hashes(fast / "night.sqlite") == _hashes(slow / "night.sqlite")
    # each left a snapshot at its new head, and the next tick also needs no replay
    runtime.inject(str(slow / "night.sqlite"), [_claim(scenario, 2)])
    runtime.inject(str(fast / "night.sqlite"), [_claim(scenario, 2)])
    assert no_replay == [1]
    assert _hashes(fast / "night.sqlite") == _hashes(slow / "night.sqlite")


def test_a_snapshot_of_another_head_code_or_damaged_is_ignored(
    tmp_path: Path, scenario: LoadedScenario, monkeypatch: pytest.MonkeyPatch, no_replay: list[int]
) -> None:
    db = _play(tmp_path, scenario, workers=1)
    snap = db.with_name("night.sqlite.stages")
    names = list(DEFAULT_ORDER)
    log = open_log(db)
    try:
        assert snapshot.restore(log, names) is not None
        assert snapshot.restore(log, names[:-1]) is None  # other stages
        with monkeypatch.context() as m:
            m.setattr(snapshot, "code_fingerprint", lambda: "another build")
            assert snapshot.restore(log, names) is None
        good = snap.read_bytes()
        snap.write_bytes(good[:-10] + bytes(b ^ 1 for b in good[-10:]))  # a damaged payload
        assert snapshot.restore(log, names) is None
        snap.write_bytes(b"not a snapshot\n")
        assert snapshot.restore(log, names) is None
        snap.write_bytes(good)
    finally:
        log.close()
    old = snap.read_bytes()
    runtime.inject(str(db), [_claim(scenario, 1)])  # the log moves on; a new snapshot
    assert no_replay == []
    snap.write_bytes(old)  # the snapshot of the earlier head, put back
    log = open_log(db)
    try:
        assert snapshot.restore(log, names) is None
    finally:
        log.close()
    runtime.inject(str(db), [_claim(scenario, 2)])
    assert no_replay == [1]  # so inject replayed


def test_logs_without_a_file_have_no_snapshot(scenario: LoadedScenario) -> None:
    log = MemoryLog()
    play_night(scenario, log, until=scenario.at("00:01"), workers=1)
    assert snapshot.snapshot_path(log) is None


class _Payload:
    """What a forged snapshot would hold: unpickling it writes a file."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.write_text, (self.target, "code ran"))


def _forge(snap: Path, log_url: str, payload: bytes, mac: bytes = b"0" * 64) -> None:
    """A snapshot file right in every field anyone can compute: the head, the code's
    fingerprint, the stage names, the sections' hashes; only the MAC is not the site's."""
    import hashlib
    import json

    log = open_log(log_url)
    try:
        seq, head = snapshot._head(log)
    finally:
        log.close()
    meta = {
        "log_seq": seq, "log_hash": head, "code": snapshot.code_fingerprint(),
        "stages": list(DEFAULT_ORDER), "alone": [["disclosure", len(payload), hashlib.sha256(payload).hexdigest()]],
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }  # fmt: skip
    snap.write_bytes(snapshot.MAGIC + mac + b"\n" + json.dumps(meta).encode() + b"\n" + payload + payload)


def test_a_crafted_snapshot_runs_no_code_on_claim_add(tmp_path: Path, scenario: LoadedScenario) -> None:
    import pickle

    from typer.testing import CliRunner

    from skywarden.cli import app

    db = tmp_path / "night.sqlite"
    log = open_log(db)
    play_night(scenario, log, until=scenario.at("00:01"), workers=1)
    log.close()
    ran = tmp_path / "pwned.txt"
    payload = pickle.dumps(_Payload(ran))
    snap = db.with_name("night.sqlite.stages")
    _forge(snap, str(db), payload)
    res = CliRunner().invoke(app, ["claim", "add", "--log", str(db), "--source", "X", "--what", "kill"])
    assert res.exit_code == 0, res.output
    assert "recorded CL-0001" in res.output  # the claim went in (by a replay)
    assert not ran.exists()
    # and a statement list, which reads the disclosure section alone, does not run it either
    _forge(snap, str(db), payload)
    res = CliRunner().invoke(app, ["statement", "list", "--log", str(db)])
    assert res.exit_code == 0, res.output
    assert not ran.exists()
    # the forgery lacks nothing but the site's MAC: signed with the key, it would have run
    import json

    lines = snap.read_bytes().split(b"\n", 3)
    key = snapshot.site_key()
    assert key is not None
    _forge(snap, str(db), payload, mac=snapshot._mac(key, lines[2]))
    assert json.loads(lines[2])["log_seq"] > 0
    log = open_log(db)
    try:
        snapshot.restore(log, list(DEFAULT_ORDER))
    finally:
        log.close()
    assert ran.read_text() == "code ran"


def test_snapshots_are_signed_with_the_sites_key_kept_0600(
    tmp_path: Path, scenario: LoadedScenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stat

    monkeypatch.setenv("SKYWARDEN_CONFIG_DIR", str(tmp_path / "site"))
    db = _play(tmp_path, scenario, workers=1)
    key = snapshot.site_key_path()
    assert key.parent == tmp_path / "site"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    names = list(DEFAULT_ORDER)
    log = open_log(db)
    try:
        assert snapshot.restore(log, names) is not None
        # another site's key: the same file no longer verifies
        monkeypatch.setenv("SKYWARDEN_CONFIG_DIR", str(tmp_path / "other-site"))
        snapshot.site_key(create=True)
        assert snapshot.restore(log, names) is None
        assert snapshot.restore_stage(log, names, "disclosure") is None
        monkeypatch.setenv("SKYWARDEN_CONFIG_DIR", str(tmp_path / "site"))
        assert snapshot.restore(log, names) is not None
        # a key others may read is not used: nothing trusted, nothing written
        key.chmod(0o644)
        assert snapshot.restore(log, names) is None
        rt = runtime.Runtime(log=log, stages=[])
        rt.last_tick = scenario.at(UNTIL)
        assert snapshot.save(log, rt) is None
        key.chmod(0o600)
        assert snapshot.restore(log, names) is not None
    finally:
        log.close()


# ----------------------------------------------------------------------------- the site's key


@pytest.fixture()
def site_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The site signs with its Ed25519 key (SKYWARDEN_KEY), as its checkpoints are."""
    from skywarden.log.checkpoint import new_keys

    key, pub = new_keys(tmp_path / "keys" / "site")
    monkeypatch.setenv("SKYWARDEN_KEY", str(key))
    monkeypatch.delenv("SKYWARDEN_PUBLIC_KEY", raising=False)
    return key, pub


def _short_night(folder: Path, scenario: LoadedScenario) -> Path:
    db = folder / "night.sqlite"
    log = open_log(db)  # signing from the environment: the site's key
    try:
        play_night(scenario, log, until=scenario.at("00:01"), workers=1)
    finally:
        log.close()
    return db


def _signed_line(line: bytes, key_path: Path, key_id: str | None = None) -> bytes:
    """A signature line as the site's writer makes it, with the key at ``key_path`` (and, to
    forge, any key id)."""
    import base64

    from skywarden.log.checkpoint import key_id_of, load_private

    key = load_private(key_path)
    kid = key_id or key_id_of(key.public_key())
    return b"ed25519 " + kid.encode() + b" " + base64.b64encode(key.sign(snapshot.SIGNED + line))


def _forge_signed(snap: Path, db: Path, payload: bytes, key_path: Path, key_id: str | None = None) -> None:
    _forge(snap, str(db), payload)
    line = snap.read_bytes().split(b"\n", 3)[2]
    _forge(snap, str(db), payload, mac=_signed_line(line, key_path, key_id))


def test_with_a_site_key_the_snapshot_is_signed_with_it(
    tmp_path: Path, scenario: LoadedScenario, site_keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, no_replay: list[int],
) -> None:  # fmt: skip
    from skywarden.log.checkpoint import key_id_of, load_public

    db = _short_night(tmp_path, scenario)
    snap = db.with_name("night.sqlite.stages")
    kid = key_id_of(load_public(site_keys[1]))
    assert snap.read_bytes().split(b"\n", 2)[1].startswith(f"ed25519 {kid} ".encode())
    names = list(DEFAULT_ORDER)
    runtime.inject(str(db), [_claim(scenario, 1)])  # a writer with the key: from the snapshot
    assert no_replay == []
    # a reader that may not read the private key checks with the public one
    monkeypatch.setenv("SKYWARDEN_KEY", str(tmp_path / "unreadable.key"))
    monkeypatch.setenv("SKYWARDEN_PUBLIC_KEY", str(site_keys[1]))
    log = open_log(db)
    try:
        assert snapshot.restore_stage(log, names, "disclosure") is not None
        # a site without any key configured cannot check it: refused, said why
        monkeypatch.delenv("SKYWARDEN_KEY")
        monkeypatch.delenv("SKYWARDEN_PUBLIC_KEY")
        with caplog.at_level("WARNING", logger="skywarden.snapshot"):
            assert snapshot.restore(open_log(db), names) is None
        assert "none is configured here" in caplog.text
    finally:
        log.close()


def test_a_snapshot_altered_or_signed_otherwise_is_refused_and_the_stages_rebuilt(
    tmp_path: Path, scenario: LoadedScenario, site_keys: tuple[Path, Path],
    caplog: pytest.LogCaptureFixture, no_replay: list[int],
) -> None:  # fmt: skip
    import pickle

    from typer.testing import CliRunner

    from skywarden.cli import app
    from skywarden.log.checkpoint import key_id_of, load_public, new_keys

    db = _short_night(tmp_path, scenario)
    snap = db.with_name("night.sqlite.stages")
    site = key_id_of(load_public(site_keys[1]))
    ran = tmp_path / "pwned.txt"
    payload = pickle.dumps(_Payload(ran))
    other_key, _ = new_keys(tmp_path / "keys" / "other")
    user_key = snapshot.site_key(create=True)  # the per-user HMAC key, trusted when the site has none
    assert user_key is not None
    forgeries = {
        "another key": (lambda: _forge_signed(snap, db, payload, other_key), "not the site's key"),
        "another key under the site's id": (
            lambda: _forge_signed(snap, db, payload, other_key, key_id=site),
            "does not verify",
        ),
        "the user's HMAC": (
            lambda: _forge(snap, str(db), payload, mac=snapshot._mac(user_key, snap.read_bytes().split(b"\n", 3)[2])),
            "not signed with the site's key",
        ),
    }
    runner = CliRunner()
    for n, (what, (forge, said)) in enumerate(forgeries.items(), 1):
        _forge(snap, str(db), payload)  # the header of the log's current head
        forge()
        caplog.clear()
        with caplog.at_level("WARNING", logger="skywarden.snapshot"):
            res = runner.invoke(app, ["claim", "add", "--log", str(db), "--source", "X", "--what", "kill"])
        assert res.exit_code == 0, (what, res.output)
        assert f"recorded CL-{n:04d}" in res.output, what
        assert not ran.exists(), what
        assert said in caplog.text and "rebuilt from the log" in caplog.text, (what, caplog.text)
        assert len(no_replay) == n, what  # the claim went in by a replay
    # a genuine snapshot (the last claim left one) with its header altered: refused too
    good = snap.read_bytes()
    magic, sig, line, rest = good.split(b"\n", 3)
    snap.write_bytes(b"\n".join((magic, sig, line.replace(b'"log_seq": ', b'"log_seq":  '), rest)))
    log = open_log(db)
    try:
        caplog.clear()
        with caplog.at_level("WARNING", logger="skywarden.snapshot"):
            assert snapshot.restore(log, list(DEFAULT_ORDER)) is None
        assert "altered or forged" in caplog.text
        snap.write_bytes(good)
        assert snapshot.restore(log, list(DEFAULT_ORDER)) is not None
        # the check is what stops the forgery: signed with the site's own key, it would run
        _forge_signed(snap, db, payload, site_keys[0])
        snapshot.restore(log, list(DEFAULT_ORDER))
    finally:
        log.close()
    assert ran.read_text() == "code ran"
