"""Drills: kill, starve and corrupt the night on purpose, and check what it leaves.

    python -m bench.drills                      # every drill at bench scale (50 SIGKILL trials ...)
    python -m bench.drills sigkill --trials 5   # one drill, fewer trials

Each drill prints its trials, how many passed and its figures. The same functions, at small
scale, are the tests in ``tests/test_drills.py``.

* sigkill      ``skywarden run`` killed with SIGKILL at a random moment of the night, then
               ``--resume``: the log must be the uninterrupted run's, byte for byte.
* disk_full    the log's file system fills up (the process's file-size limit, RLIMIT_FSIZE,
               makes the disk "full" at a chosen size without root): a clear error, a log that
               ends on a whole tick and verifies, and a resume that continues it to the
               uninterrupted log.
* server       the connection to PostgreSQL or NATS cut mid-night (a TCP proxy between them is
               dropped, refusing connections, then restored): the night waits and goes on;
               its log is the uninterrupted one (nothing lost or duplicated).
* webhook      the webhook receiver down for 10 minutes (on a compressed wall clock) while a
               night publishes, then back: every item delivered once, in order, and the tick
               loop unaffected; and a receiver that hangs does not stretch the night.
* clock        the wall clock set back an hour and forward a day during a live night: ticks
               stay ordered, strictly increasing, and on the monotonic time.
* sigkill_server    the SIGKILL drill with the log on PostgreSQL and on NATS JetStream.
* disk_full_server  the PostgreSQL server's disk filling mid-night (the log's tablespace on a
               small tmpfs; needs root, a superuser and the server on this machine): the night
               waits, and goes on to the uninterrupted log once there is room.
* restart      a PostgreSQL and a NATS server of the drill's own (never the machine's) stopped and
               started again, or killed and started, mid-night: the night waits and goes on
               to the uninterrupted log.
* disk_full_nats    the same on a NATS server of the drill's own (its JetStream store on a
               small tmpfs; needs root and the nats-server program): JetStream's reservation
               full ("insufficient resources"), or the disk itself full (the server leaves the
               batch unanswered); the night waits, and goes on once the disk grew and the
               server restarted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class DrillResult:
    name: str
    trials: int = 0
    passes: int = 0
    figures: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        figs = ", ".join(f"{k} {v}" for k, v in self.figures.items())
        return f"{self.name}: {self.passes} of {self.trials} passed; {figs}"


# ----------------------------------------------------------------------------- running the CLI


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "skywarden.cli", *args]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), e.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    e.setdefault("COLUMNS", "200")
    return e


def run_cli(*args: str, timeout: float = 600, preexec: Callable[[], None] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli(*args), env=env(), capture_output=True, text=True, timeout=timeout, preexec_fn=preexec)  # noqa: PLW1509 - a rlimit, set before exec, no threads involved


def hashes(url: str) -> list[bytes]:
    from skywarden.log import open_log

    log = open_log(url)
    try:
        return [r.hash for r in log.read()]
    finally:
        log.close()


def kinds(url: str) -> list[str]:
    from skywarden.log import open_log

    log = open_log(url)
    try:
        return [r.data[9 : r.data.index(b'"', 9)].decode() for r in log.read()]
    finally:
        log.close()


def reference(folder: Path, until: str) -> tuple[Path, list[bytes], float]:
    """An uninterrupted run to ``until``: its log, its hashes, and how long the command took."""
    path = folder / "reference.sqlite"
    t0 = time.perf_counter()
    res = run_cli("run", "--log", str(path), "--until", until)
    took = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"the reference run failed: {res.stderr}")
    return path, hashes(str(path)), took


def ends_on_a_whole_tick(url: str) -> bool:
    """The log's last record belongs to a complete tick: no inputs after the last Tick without
    their own Tick, and every tick's group is whole (a replay reproduces it)."""
    from skywarden.events import Tick, is_input
    from skywarden.log import open_log

    log = open_log(url)
    try:
        events = [r.event() for r in log.read()]
    finally:
        log.close()
    if not events:
        return True
    last_tick = max((i for i, e in enumerate(events) if isinstance(e, Tick)), default=-1)
    return last_tick >= 0 and not any(is_input(e) for e in events[last_tick + 1 :])


# ----------------------------------------------------------------------------- SIGKILL


def _children(pid: int) -> list[int]:
    try:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return True


Reference = tuple[Path, list[bytes], float]


def _records_in(path: Path) -> int:
    """How many records a SQLite log being written holds now (0 before it has any)."""
    import sqlite3

    if not path.exists():
        return 0
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.1)
        try:
            row = db.execute("SELECT max(seq) FROM events").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return 0
    return int(row[0] or 0)


def _server_log_url(base_url: str) -> str:
    """A fresh log's URL on a server (its own ``log=`` name)."""
    import uuid

    return f"{base_url}{'&' if '?' in base_url else '?'}log=drill{uuid.uuid4().hex[:10]}"


def _pg_counter(url: str) -> tuple[Callable[[], int], Callable[[], None]]:
    """How many records a PostgreSQL log being written holds now (0 before its table exists),
    on a connection of the drill's own; and how to close it."""
    import psycopg
    from psycopg import sql

    from skywarden.log.postgres import split_url

    conninfo, name = split_url(url)
    conn = psycopg.connect(conninfo, autocommit=True)
    query = sql.SQL("SELECT max(seq) FROM {}").format(sql.Identifier(f"skywarden_{name}"))

    def count() -> int:
        try:
            row = conn.execute(query).fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
        return int(row[0] or 0) if row else 0

    return count, conn.close


def _nats_counter(url: str) -> tuple[Callable[[], int], Callable[[], None]]:
    """How many complete records a NATS log being written holds now, on a reader of the
    drill's own (it creates the stream if the run has not yet: the run then finds it)."""
    from skywarden.log import open_log

    reader = open_log(url, signing=None)
    return reader.last_seq, reader.close


def _resume(url: str, until: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """``run --resume`` on ``url``, once. On a NATS log whose killed writer's lease has not run
    out yet, the command waits for it itself (``waiting: the night's last writer … holds its
    lease N s more``): the N it said is returned."""
    res = run_cli("run", "--log", url, "--until", until, "--resume")
    said = re.search(r"holds its lease (\d+) s more", " ".join(res.stderr.split()))
    return res, float(said.group(1)) if said else 0.0


def drill_sigkill(trials: int, until: str = "00:05", seed: int = 1, folder: Path | None = None,
                  ref_run: Reference | None = None, backend: str = "sqlite", base_url: str = "") -> DrillResult:  # fmt: skip
    """Kill ``run --until`` with SIGKILL at a random point of the night (once its log holds a
    random number of records; one kill in ten at a random moment before the first record),
    resume it, and compare with the uninterrupted log. ``backend`` "postgres" or "nats" plays
    into a fresh log on the server at ``base_url`` each trial (NATS: the resume waits out the
    killed writer's lease)."""
    rng = random.Random(seed)
    result = DrillResult("sigkill" if backend == "sqlite" else f"sigkill ({backend})")
    with _folder(folder) as tmp:
        _, ref, took = ref_run or reference(tmp, until)
        at_kill: list[int] = []
        resumed_s: list[float] = []
        lease_s: list[float] = []
        not_killed = 0
        for n in range(trials):
            path = tmp / f"killed-{n}.sqlite"
            url = str(path) if backend == "sqlite" else _server_log_url(base_url)
            count: Callable[[], int]
            done: Callable[[], None] = lambda: None  # noqa: E731 - nothing to close for a file
            if backend == "sqlite":
                count = lambda p=path: _records_in(p)  # noqa: E731
            elif backend == "postgres":
                count, done = _pg_counter(url)
            else:
                count, done = _nats_counter(url)
            try:
                # a tenth of the kills at a random moment before the first record (start-up, the
                # first tick); the others once the log holds a random number of records
                target = 0 if rng.random() < 0.1 else rng.randrange(1, len(ref))
                delay = rng.uniform(0.0, took) if target == 0 else 0.0
                proc = subprocess.Popen(cli("run", "--log", url, "--until", until), env=env(),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
                if target == 0:
                    time.sleep(delay)
                else:
                    while proc.poll() is None and count() < target:
                        time.sleep(rng.uniform(0.0, 0.01))
                workers = _children(proc.pid)
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                else:
                    not_killed += 1
                proc.wait(timeout=60)
                deadline = time.monotonic() + 20
                while any(_alive(p) for p in workers) and time.monotonic() < deadline:
                    time.sleep(0.05)
                records = len(hashes(url)) if backend != "sqlite" or path.exists() else 0
                at_kill.append(records)
                t0 = time.perf_counter()
                res, lease = _resume(url, until)
                resumed_s.append(time.perf_counter() - t0 - lease)
                lease_s.append(lease)
                got = hashes(url) if res.returncode == 0 else []
                result.trials += 1
                why = ""
                if res.returncode != 0:
                    why = f"resume failed: {res.stderr.strip()[-300:]}"
                elif got != ref:
                    openings = kinds(url).count("night_opened")
                    why = f"{len(got)} records against {len(ref)} ({openings} night_opened)"
                elif any(_alive(p) for p in workers):
                    why = "the tracking worker outlived the killed run"
                if why:
                    result.failures.append(f"trial {n} (killed {delay:.2f} s in, {records} records): {why}")
                else:
                    result.passes += 1
            finally:
                done()
                if backend != "sqlite":
                    _drop(backend, url)
        result.figures = {
            "night": f"21:00-{until} local ({len(ref)} records)",
            "uninterrupted run": f"{took:.1f} s",
            "records at the kill (min/median/max)": f"{min(at_kill)}/{int(statistics.median(at_kill))}/{max(at_kill)}",
            "killed before the first record": sum(1 for r in at_kill if r == 0),
            "finished before the kill": not_killed,
            "resume (mean)": f"{statistics.fmean(resumed_s):.1f} s",
        }
        if any(lease_s):
            result.figures["waited for the killed writer's lease (max)"] = f"{max(lease_s):.0f} s"
    return result


# ----------------------------------------------------------------------------- a full disk


def _fsize_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def drill_disk_full(limits: Sequence[int], until: str = "00:05", folder: Path | None = None,
                    ref_run: Reference | None = None) -> DrillResult:  # fmt: skip
    """Play into a log whose file may not grow past each of ``limits`` bytes (the disk "fills"
    there), then check the error, the log, and a resume on a disk with room again."""
    result = DrillResult("disk_full")
    with _folder(folder) as tmp:
        _, ref, _ = ref_run or reference(tmp, until)
        kept: list[int] = []
        for n, limit in enumerate(limits):
            path = tmp / f"full-{n}.sqlite"
            res = run_cli("run", "--log", str(path), "--until", until, preexec=_fsize_limit(limit))
            result.trials += 1
            why = ""
            said = " ".join(res.stderr.split())
            if res.returncode == 0:
                why = f"the run did not fail with a {limit}-byte disk"
            elif "disk is full" not in said and "append failed" not in said:
                why = f"no clear error: {said[-300:]}"
            elif "Traceback" in res.stderr:
                why = "a traceback instead of an error"
            verify = run_cli("log", "verify", str(path))
            if not why and verify.returncode != 0:
                why = f"log verify failed after the full disk: {verify.stderr.strip()[-200:]}"
            if not why and not ends_on_a_whole_tick(str(path)):
                why = "the log does not end on a whole tick"
            if not why:
                kept.append(len(hashes(str(path))))
                if hashes(str(path)) != ref[: kept[-1]]:
                    why = "what was kept is not the uninterrupted log's beginning"
            if not why:
                again = run_cli("run", "--log", str(path), "--until", until, "--resume")
                if again.returncode != 0:
                    why = f"resume failed: {again.stderr.strip()[-300:]}"
                elif hashes(str(path)) != ref:
                    why = "the resumed log differs from the uninterrupted one"
            if why:
                result.failures.append(f"limit {limit}: {why}")
            else:
                result.passes += 1
        result.figures = {
            "limits": "/".join(f"{x // 1024} KiB" for x in limits),
            "records kept": "/".join(map(str, kept)),
            "of": len(ref),
        }
    return result


# ----------------------------------------------------------------------------- a full disk on PostgreSQL


def pg_disk_full_unavailable(base_url: str) -> str | None:
    """Why the PostgreSQL disk-full drill cannot run here (None: it can). It puts the drill's
    log in a tablespace on a small tmpfs, so the server's own writes fail with "No space left
    on device": it needs root (to mount), a superuser connection (CREATE TABLESPACE) and the
    server on this machine (to see the mount)."""
    if os.geteuid() != 0:
        return "needs root to mount a small file system for the server's tablespace"
    try:
        import psycopg

        from skywarden.log.postgres import split_url

        conn = psycopg.connect(split_url(base_url)[0], autocommit=True)
        try:
            row = conn.execute("SELECT usesuper FROM pg_user WHERE usename = current_user").fetchone()
            superuser = bool(row and row[0])
            data_dir = conn.execute("SHOW data_directory").fetchone() if superuser else None
        finally:
            conn.close()
    except Exception as exc:  # no server, no driver: say which
        return f"PostgreSQL at {base_url}: {type(exc).__name__}: {str(exc)[:120]}"
    if not superuser:
        return "needs a superuser connection (CREATE TABLESPACE)"
    if not data_dir or not Path(str(data_dir[0])).is_dir():
        return "the server's data directory is not on this machine (it would not see the mount)"
    probe = Path(tempfile.mkdtemp(prefix="skw-mount-probe-"))
    try:
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
                             capture_output=True, text=True, timeout=10)  # fmt: skip
        if res.returncode != 0:
            return f"cannot mount a tmpfs here ({res.stderr.strip()[:120]})"
        subprocess.run(["umount", str(probe)], capture_output=True, timeout=10)
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()
    return None


@contextlib.contextmanager
def _small_tablespace(admin_url: str, size: int) -> Iterator[tuple[str, Path]]:
    """A tablespace on a tmpfs of ``size`` bytes owned by the server's user: ``(name, mount)``;
    dropped and unmounted after (only the drill's log may be in it by then)."""
    import pwd
    import uuid

    import psycopg

    from skywarden.log.postgres import split_url

    user = pwd.getpwnam("postgres")
    name = f"skywarden_drill_{uuid.uuid4().hex[:8]}"
    mnt = Path(tempfile.mkdtemp(prefix="skw-pgfull-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},uid={user.pw_uid},gid={user.pw_gid},mode=0700",
                    "tmpfs", str(mnt)], check=True, capture_output=True, timeout=10)  # fmt: skip
    conn = psycopg.connect(split_url(admin_url)[0], autocommit=True)
    try:
        conn.execute(f"CREATE TABLESPACE {name} LOCATION '{mnt}'")  # a name and path of our own making
        try:
            yield name, mnt
        finally:
            with contextlib.suppress(psycopg.Error):
                conn.execute(f"DROP TABLESPACE IF EXISTS {name}")
    finally:
        conn.close()
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=10)
        with contextlib.suppress(OSError):
            mnt.rmdir()


def _grow(mnt: Path, size: int) -> None:
    """Free the disk: the tmpfs grows to ``size`` bytes (as an operator freeing space)."""
    subprocess.run(["mount", "-o", f"remount,size={size}", str(mnt)], check=True, capture_output=True, timeout=10)


def drill_disk_full_postgres(limits: Sequence[int], base_url: str, until: str = "00:05", folder: Path | None = None,
                             ref_run: Reference | None = None, full_for_s: float = 3.0) -> DrillResult:  # fmt: skip
    """Play into a PostgreSQL log kept in a tablespace of ``limit`` bytes: the server's disk
    fills mid-night and refuses the batch ("No space left on device"). The night must say so and
    wait (the patient log), lose and duplicate nothing, and go on once space is freed
    (``full_for_s`` after it started waiting), to the uninterrupted log; ``log verify`` passes."""
    import threading as _threading

    result = DrillResult("disk_full (postgres)")
    kept: list[int] = []
    said_full: list[str] = []
    with _folder(folder) as tmp:
        _, ref, took = ref_run or reference(tmp, until)
        for limit in limits:
            result.trials += 1
            why = ""
            url = _server_log_url(base_url)
            try:
                with _small_tablespace(base_url, limit) as (space, mnt):
                    run_url = f"{url}&options=-c%20default_tablespace%3D{space}"
                    count, done = _pg_counter(url)
                    proc = subprocess.Popen(cli("run", "--log", run_url, "--until", until), env=env(),
                                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
                    lines: list[str] = []
                    waiting = _threading.Event()

                    def watch(p: subprocess.Popen[str] = proc, out: list[str] = lines, ev: _threading.Event = waiting) -> None:
                        assert p.stderr is not None
                        for line in p.stderr:
                            out.append(line)
                            if "waiting:" in line:
                                ev.set()

                    reader = _threading.Thread(target=watch, daemon=True)
                    reader.start()
                    deadline = time.monotonic() + max(120.0, 5 * took)
                    while not waiting.wait(0.2) and proc.poll() is None and time.monotonic() < deadline:
                        pass
                    if waiting.is_set():
                        kept.append(count())
                        time.sleep(full_for_s)  # retried against the full disk meanwhile
                        _grow(mnt, 256 * 1024 * 1024)
                    elif proc.poll() is None:
                        why = "the night never waited: the disk did not fill (a limit too large?)"
                    else:
                        why = "the night ended without waiting for the disk"
                    try:
                        proc.wait(timeout=600)
                    finally:
                        reader.join(5)
                        if proc.stderr is not None:
                            proc.stderr.close()
                        done()
                    text = " ".join("".join(lines).split())
                    if not why and proc.returncode != 0:
                        why = f"the run failed: {text[-300:]}"
                    elif not why and "No space left on device" not in text:
                        why = f"the wait did not say the disk is full: {text[-300:]}"
                    elif not why and "Traceback" in text:
                        why = "a traceback"
                    if not why:
                        at = text.find("No space left on device")
                        said_full.append("…" + text[max(0, at - 90) : at + 23])
                        if hashes(url) != ref:
                            why = f"{len(hashes(url))} records against {len(ref)}, or other bytes"
                    if not why:
                        verify = run_cli("log", "verify", url)
                        if verify.returncode != 0:
                            why = f"log verify failed: {verify.stderr.strip()[-200:]}"
                    _drop("postgres", url)  # before its tablespace goes
            except subprocess.CalledProcessError as exc:
                why = f"could not set the drill up: {exc.stderr!r}"
            if why:
                result.failures.append(f"limit {limit}: {why}")
            else:
                result.passes += 1
    result.figures = {
        "limits": "/".join(f"{x // 1024} KiB" for x in limits),
        "records when the disk filled": "/".join(map(str, kept)),
        "of": len(ref),
        "full for": f"{full_for_s:.0f} s",
    }
    if said_full:
        result.figures["said"] = said_full[0]
    return result


# ----------------------------------------------------------------------------- a full disk on NATS


def nats_disk_full_unavailable() -> str | None:
    """Why the NATS disk-full drill cannot run here (None: it can). The drill starts a NATS
    server of its own (the ``nats-server`` program) whose JetStream store is on a small tmpfs:
    it needs the program and root (to mount)."""
    if shutil.which("nats-server") is None:
        return "needs the nats-server program (Debian's nats-server package) to start a server of its own"
    if os.geteuid() != 0:
        return "needs root to mount a small file system for the server's JetStream store"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


class _SmallNatsServer:
    """A NATS server of the drill's own; its JetStream store on a tmpfs of ``size`` bytes, or
    (``size`` None) in a temporary folder.

    ``reserve``: the server's default, JetStream reserving 75 % of the disk it finds at start:
    the server refuses a write past it with "insufficient resources". Otherwise the store's limit
    is set far above the disk, so that the disk itself fills and the server's writes fail
    (ENOSPC; NATS 2.9 then leaves the publishes unanswered)."""

    def __init__(self, size: int | None, reserve: bool = True) -> None:
        self.size, self.reserve = size, reserve
        self.mnt = Path(tempfile.mkdtemp(prefix="skw-nats-"))
        self.port = _free_port()
        self.conf = self.mnt.with_suffix(".conf")
        limit = "" if reserve else ", max_file_store: 1GB"
        self.conf.write_text(f'listen: "127.0.0.1:{self.port}"\njetstream {{ store_dir: "{self.mnt}"{limit} }}\n')
        if size is not None:
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(self.mnt)],
                           check=True, capture_output=True, timeout=10)  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(["nats-server", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)  # fmt: skip
        _wait_listening(self.port, self.proc, "the drill's NATS server")

    def stop(self, kill: bool = False) -> None:
        """Stopped as a service manager stops it (SIGTERM, killed after a grace), or killed."""
        if self.proc is not None and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()  # lame-duck mode can take long: killed after a grace
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def grow_and_restart(self, size: int) -> None:
        """What an operator does: frees space (the tmpfs grows) and restarts the server, which
        sizes JetStream's store again and reads back what it holds."""
        _grow(self.mnt, size)
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        if self.size is not None:
            subprocess.run(["umount", "-l", str(self.mnt)], capture_output=True, timeout=10)
        shutil.rmtree(self.mnt, ignore_errors=True)
        self.conf.unlink(missing_ok=True)


def drill_disk_full_nats(trials: Sequence[tuple[int, bool]], until: str = "00:05", folder: Path | None = None,
                         ref_run: Reference | None = None, full_for_s: float = 3.0) -> DrillResult:  # fmt: skip
    """Play into a NATS JetStream log on a server of the drill's own whose store is a small
    tmpfs, for each ``(bytes, reserve)`` of ``trials`` (see :class:`_SmallNatsServer`): the disk
    fills mid-night. The night must say so and wait, lose and duplicate nothing, and go on once
    space is freed and the server restarted (``full_for_s`` after it started waiting), to the
    uninterrupted log; ``log verify`` passes."""
    import uuid

    result = DrillResult("disk_full (nats)")
    said: list[str] = []
    with _folder(folder) as tmp:
        _, ref, took = ref_run or reference(tmp, until)
        for size, reserve in trials:
            result.trials += 1
            why = ""
            server: _SmallNatsServer | None = None
            try:
                server = _SmallNatsServer(size, reserve)
                url = f"{server.url}?log=drill{uuid.uuid4().hex[:10]}"
                proc = subprocess.Popen(cli("run", "--log", url, "--until", until), env=env(),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
                lines: list[str] = []
                waiting = threading.Event()

                def watch(p: subprocess.Popen[str] = proc, out: list[str] = lines, ev: threading.Event = waiting) -> None:
                    assert p.stderr is not None
                    for line in p.stderr:
                        out.append(line)
                        if "waiting:" in line:
                            ev.set()

                reader = threading.Thread(target=watch, daemon=True)
                reader.start()
                deadline = time.monotonic() + max(150.0, 5 * took)  # an unanswered batch waits 70 s
                while not waiting.wait(0.2) and proc.poll() is None and time.monotonic() < deadline:
                    pass
                if waiting.is_set():
                    time.sleep(full_for_s)  # retried against the full disk meanwhile
                    server.grow_and_restart(256 * 1024 * 1024)
                elif proc.poll() is None:
                    why = "the night never waited: the disk did not fill (a size too large?)"
                else:
                    why = "the night ended without waiting for the disk"
                try:
                    proc.wait(timeout=600)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                    reader.join(5)
                    if proc.stderr is not None:
                        proc.stderr.close()
                text = " ".join("".join(lines).split())
                if not why and proc.returncode != 0:
                    why = f"the run failed: {text[-300:]}"
                elif not why and "Traceback" in text:
                    why = "a traceback: " + "".join(lines)[-3000:]
                if not why:
                    at = text.find("waiting:")
                    said.append(text[at : at + 200])
                    got = hashes(url)
                    if got != ref:
                        why = f"{len(got)} records against {len(ref)}, or other bytes"
                if not why:
                    verify = run_cli("log", "verify", url)
                    if verify.returncode != 0:
                        why = f"log verify failed: {verify.stderr.strip()[-200:]}"
            except (subprocess.CalledProcessError, RuntimeError) as exc:
                why = f"could not set the drill up: {exc}"
            finally:
                if server is not None:
                    server.close()
            if why:
                result.failures.append(f"{size // 1024} KiB ({'reserved' if reserve else 'the disk'}): {why}")
            else:
                result.passes += 1
    result.figures = {
        "disks": "/".join(f"{size // 1024} KiB{' (reserved)' if reserve else ''}" for size, reserve in trials),
        "full for": f"{full_for_s:.0f} s",
        "night": until,
    }
    for n, text in enumerate(said):
        result.figures[f"said ({n + 1})"] = text
    return result


# ----------------------------------------------------------------------------- a server restarted


def _pg_bin() -> Path | None:
    """The folder of Debian's PostgreSQL server programs (initdb, pg_ctl), newest first."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found else None


def restart_unavailable(backend: str) -> str | None:
    """Why the restart drill cannot run here for ``backend`` (None: it can). It restarts a
    server of its own, never the machine's: NATS needs the nats-server program; PostgreSQL
    needs Debian's server programs and, as root, the ``postgres`` user to run them as."""
    if backend == "nats":
        return None if shutil.which("nats-server") else "needs the nats-server program to start a server of its own"
    if _pg_bin() is None:
        return "needs PostgreSQL's server programs (initdb, pg_ctl) to start a server of its own"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "runs as root without a postgres user to run the server as"
    return None


class _PrivatePostgres:
    """A PostgreSQL cluster of the drill's own (initdb in a temporary folder, trust auth, its own
    port), so that restarting it disturbs nobody else's server."""

    def __init__(self) -> None:
        import pwd

        bin_dir = _pg_bin()
        assert bin_dir is not None
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="skw-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user: tuple[int, int] | None = None
        if os.geteuid() == 0:  # the server refuses to run as root
            pw = pwd.getpwnam("postgres")
            self.user = (pw.pw_uid, pw.pw_gid)
            os.chown(self.root, *self.user)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    def _run(self, *argv: str) -> None:
        user = self.user

        def drop() -> None:
            if user is not None:
                os.setgid(user[1])
                os.setuid(user[0])

        subprocess.run(argv, check=True, capture_output=True, timeout=120, preexec_fn=drop)  # noqa: PLW1509 - setuid before exec only

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.root / "server.log"), "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")  # fmt: skip

    def stop(self, kill: bool = False) -> None:
        """``fast`` (connections closed, as a service manager restarts it) or ``immediate`` (as
        if the server crashed: it recovers from its WAL on the next start)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-m", "immediate" if kill else "fast", "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.stop(kill=True)
        shutil.rmtree(self.root, ignore_errors=True)


def drill_restart(backend: str, modes: Sequence[bool], until: str = "00:05", down_s: float = 2.0, seed: int = 3,
                  folder: Path | None = None, ref_run: Reference | None = None) -> DrillResult:  # fmt: skip
    """Play into a log on a ``backend`` server of the drill's own and restart that server at a
    random moment of the night, for each of ``modes`` (False: stopped as a service manager
    stops it; True: killed, as if it crashed), down ``down_s``: the night must wait and go on,
    its log the uninterrupted one (nothing lost or duplicated), and ``log verify`` passes."""
    import uuid

    rng = random.Random(seed)
    result = DrillResult(f"restart ({backend})")
    waited: list[int] = []
    at: list[int] = []
    with _folder(folder) as tmp:
        _, ref, took = ref_run or reference(tmp, until)
        for kill in modes:
            result.trials += 1
            why = ""
            server: _SmallNatsServer | _PrivatePostgres | None = None
            try:
                server = _SmallNatsServer(None) if backend == "nats" else _PrivatePostgres()
                sep = "&" if "?" in server.url else "?"
                url = f"{server.url}{sep}log=drill{uuid.uuid4().hex[:10]}"
                proc = subprocess.Popen(cli("run", "--log", url, "--until", until), env=env(),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
                # restarted once the night has logged a random share of its records (polled on
                # a connection of the drill's own), so that it is mid-night, never before it
                target = rng.randint(len(ref) // 5, len(ref) * 3 // 5)
                count, done = (_nats_counter if backend == "nats" else _pg_counter)(url)
                try:
                    deadline = time.monotonic() + max(120.0, 10 * took)
                    n = count()
                    while n < target and proc.poll() is None and time.monotonic() < deadline:
                        time.sleep(0.02)
                        n = count()
                finally:
                    done()
                at.append(n)
                if proc.poll() is not None or n >= len(ref):
                    why = "the night had ended before the server was restarted (a longer night?)"
                server.stop(kill=kill)
                time.sleep(down_s)
                server.start()
                try:
                    _, stderr = proc.communicate(timeout=600)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    _, stderr = proc.communicate()
                text = " ".join(stderr.split())
                waited.append(text.count("waiting:"))
                if not why and proc.returncode != 0:
                    why = f"the run failed: {text[-300:]}"
                elif not why and "Traceback" in stderr:
                    why = f"a traceback: {stderr[-1500:]}"
                elif not why and hashes(url) != ref:
                    why = f"{len(hashes(url))} records against {len(ref)}, or other bytes"
                if not why:
                    verify = run_cli("log", "verify", url)
                    if verify.returncode != 0:
                        why = f"log verify failed: {verify.stderr.strip()[-200:]}"
            except (subprocess.CalledProcessError, RuntimeError) as exc:
                detail = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else exc
                why = f"could not set the drill up: {detail!r}"[:400]
            finally:
                if server is not None:
                    server.close()
            if why:
                result.failures.append(f"{'killed' if kill else 'stopped'}: {why}")
            else:
                result.passes += 1
    result.figures = {
        "restarts": "/".join("killed" if k else "stopped" for k in modes),
        "down for": f"{down_s:.0f} s",
        "runs that waited": sum(1 for w in waited if w),
        "records when restarted": "/".join(map(str, at)),
        "of": len(ref),
        "night": until,
    }
    return result


# ----------------------------------------------------------------------------- a server away


class TcpProxy:
    """A TCP relay on 127.0.0.1 to ``target``; ``cut()`` drops every connection and refuses new
    ones (as a server that went away), ``restore()`` lets them through again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.cuts = 0
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, scheme_url: str) -> str:
        """``scheme_url`` (postgresql://host:port/..., nats://host:port...) through the proxy."""
        host = f"{self.target[0]}:{self.target[1]}"
        return scheme_url.replace(host, f"127.0.0.1:{self.port}", 1)

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 0.5)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except (OSError, ValueError):  # (closed under it by cut())
            return
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()

    def cut(self) -> None:
        self.up = False
        self.cuts += 1
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self._stop = True
        self.cut()
        self.listener.close()


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def drill_server(backend: str, base_url: str, trials: int, until: str = "00:05", down_s: float = 5.0,
                 seed: int = 2, folder: Path | None = None, ref_run: Reference | None = None) -> DrillResult:  # fmt: skip
    """Play into ``base_url`` (a PostgreSQL or NATS server) through a proxy that is cut for
    ``down_s`` at a random moment of the run; the log must be the uninterrupted one."""
    import uuid

    rng = random.Random(seed)
    result = DrillResult(f"server ({backend})")
    default_port = 5432 if backend == "postgres" else 4222
    waited: list[int] = []
    with _folder(folder) as tmp:
        _, ref, took = ref_run or reference(tmp, until)
        for n in range(trials):
            name = f"drill{uuid.uuid4().hex[:10]}"
            url = f"{base_url}{'&' if '?' in base_url else '?'}log={name}"
            proxy = TcpProxy(_host_port(base_url, default_port))
            try:
                proc = subprocess.Popen(cli("run", "--log", proxy.url(url), "--until", until), env=env(),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
                time.sleep(rng.uniform(0.3 * took, 0.8 * took))
                proxy.cut()
                time.sleep(down_s)
                proxy.restore()
                _, stderr = proc.communicate(timeout=600)
                result.trials += 1
                why = ""
                if proc.returncode != 0:
                    why = f"the run failed: {' '.join(stderr.split())[-300:]}"
                elif hashes(url) != ref:
                    why = f"{len(hashes(url))} records against {len(ref)}, or other bytes"
                waited.append(stderr.count("waiting:"))
                if why:
                    result.failures.append(f"trial {n}: {why}")
                else:
                    result.passes += 1
            finally:
                proxy.close()
                _drop(backend, url)
    result.figures = {"server away for": f"{down_s:.0f} s", "runs that waited": sum(1 for w in waited if w), "night": until}
    return result


def _drop(backend: str, url: str) -> None:
    try:
        if backend == "postgres":
            from skywarden.log.postgres import PostgresLog

            PostgresLog(url).drop()
        else:
            from skywarden.log.nats import NatsLog

            NatsLog(url).drop()
    except Exception as exc:  # cleaning up a drill's log must not hide its result
        print(f"(could not drop {url}: {exc})", file=sys.stderr)


# ----------------------------------------------------------------------------- the webhook


class Receiver:
    """A webhook receiver on 127.0.0.1 that stores each Idempotency-Key once (answering a repeat
    with success, as the contract asks), answers 503 while ``down()`` and, while ``hang`` is
    clear, holds every request without an answer."""

    def __init__(self, down: Callable[[], bool] = lambda: False) -> None:
        self.down = down
        self.hang = threading.Event()
        self.hang.set()  # set: answer; clear: hold
        self.held = 0  # requests being held now
        self.requests = 0
        self.refused = 0
        self.order: list[str] = []  # item ids, in the order first stored
        self.stored: dict[str, int] = {}  # idempotency key -> times it was answered 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests += 1
                    receiver.held += 1
                receiver.hang.wait(120)
                with receiver.lock:
                    receiver.held -= 1
                    if receiver.down():
                        receiver.refused += 1
                        self._answer(503)
                        return
                    key = self.headers.get("Idempotency-Key") or ""
                    if key not in receiver.stored:  # stored once; a repeat is answered, not stored
                        receiver.order.append(json.loads(body)["id"])
                    receiver.stored[key] = receiver.stored.get(key, 0) + 1
                self._answer(200)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.hang.set()
        self.server.shutdown()
        self.server.server_close()


class CompressedClock:
    """Wall time running ``factor`` times faster than real time, from now (a drill's clock)."""

    def __init__(self, factor: float) -> None:
        self.factor = factor
        self.t0, self.m0 = datetime.now(UTC), time.monotonic()

    def elapsed_s(self) -> float:
        return (time.monotonic() - self.m0) * self.factor

    def now(self) -> datetime:
        return self.t0 + timedelta(seconds=self.elapsed_s())

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds / self.factor)


class _Announcer:
    """A stage that publishes a statement every ``every`` ticks (what the disclosure stage
    does after approvals; the drill needs items, not the whole pipeline)."""

    name = "announcer"

    def __init__(self, every: int) -> None:
        self.every, self.n, self.ticks = every, 0, 0

    def step(self, now: datetime, events: Sequence[Any]) -> list[Any]:
        from skywarden.events import StatementPublished

        self.ticks += 1
        if self.ticks % self.every:
            return []
        self.n += 1
        text = f"Statement {self.n}: air defence is working over the region."
        return [StatementPublished(t=now, statement_id=f"ST-{self.n:04d}", text_en=text, text_ru=text,
                                   approved_by=["duty-1"], delay_s=0.0)]  # fmt: skip


def play_publishing(scenario: Any, url: str, ticks: int, every: int, *, wall: Callable[[], datetime],
                    sleep: Callable[[float], None], folder: Path, retry_every_s: float = 30.0,
                    idle_s: float = 0.02, timeout_s: float = 10.0) -> tuple[float, Any, Any]:  # fmt: skip
    """``ticks`` simulated ticks whose stage publishes every ``every``, to a webhook at ``url``
    through a DeliveryWorker on the ``wall`` clock; returns (the tick loop's seconds, the
    worker, the night's log)."""
    from skywarden.disclosure.channels import Outbox, Publisher, RetryPolicy, WebhookChannel
    from skywarden.disclosure.delivery import DeliveryWorker
    from skywarden.disclosure.policy import DisclosurePolicy
    from skywarden.log import MemoryLog
    from skywarden.runtime import Runtime, SimulatedClock

    retry = RetryPolicy(attempts=3, base_s=0.5, factor=2.0, max_s=30.0, timeout_s=timeout_s)
    hook = WebhookChannel(url, retry=retry, sleep=sleep)
    publisher = Publisher([hook], Outbox(folder / "outbox.sqlite"), DisclosurePolicy.for_scenario(scenario),
                          retry_every_s=retry_every_s)  # fmt: skip
    journal = MemoryLog()
    worker = DeliveryWorker(publisher, journal, idle_s=idle_s, wall=wall)
    log = MemoryLog()
    rt = Runtime(log=log, stages=[_Announcer(every)], sinks=[worker])  # type: ignore[list-item]
    t0 = time.perf_counter()
    rt.run(SimulatedClock(), scenario.start, scenario.start + timedelta(seconds=ticks), 1.0)
    return time.perf_counter() - t0, worker, log


def drill_webhook(scenario: Any, *, down_min: float = 10.0, factor: float = 200.0, items: int = 30,
                  folder: Path | None = None) -> DrillResult:  # fmt: skip
    """The receiver down for ``down_min`` minutes of a wall clock ``factor`` times faster than
    real time, while a night publishes ``items`` statements; then back. And a receiver that
    hangs: the night's tick loop against one with the receiver up."""
    result = DrillResult("webhook")
    with _folder(folder) as tmp:
        clock = CompressedClock(factor)
        down_until = down_min * 60
        first: list[float] = []  # when the first request came: down from then on, for down_min

        def down() -> bool:
            if not first:
                first.append(clock.elapsed_s())
            return clock.elapsed_s() - first[0] < down_until

        receiver = Receiver(down=down)
        try:
            ticks = items * 20
            loop_s, worker, _ = play_publishing(scenario, receiver.url, ticks, 20, wall=clock.now, sleep=clock.sleep,
                                                folder=tmp / "down")  # fmt: skip
            drained = worker.drain(timeout_s=down_until / factor + 60)
            back_after = clock.elapsed_s() - (first[0] if first else 0.0)
            journal = worker.journal
            worker.close(5)
        finally:
            receiver.stop()
        want = [f"ST-{n:04d}" for n in range(1, items + 1)]
        answers = [r.event() for r in journal.read()] if journal is not None else []
        ok = sorted({a.item_id for a in answers if a.ok})
        result.trials += 1
        why = ""
        if not drained:
            why = "not every item was delivered"
        elif receiver.order != want:
            why = f"stored {receiver.order[:5]}... not {want[:5]}..."
        elif any(n != 1 for n in receiver.stored.values()) or len(receiver.stored) != items:
            why = "an item delivered twice or not at all"
        elif ok != want:
            why = "the journal does not record every delivery"
        if why:
            result.failures.append(f"down {down_min} min: {why}")
        else:
            result.passes += 1
        result.figures["down"] = f"{down_min:.0f} min (wall clock x{factor:.0f})"
        result.figures["items"] = items
        result.figures["refused while down"] = receiver.refused
        result.figures["all delivered"] = f"{back_after / 60:.1f} min after the first try"
        result.figures["tick loop (down)"] = f"{loop_s:.2f} s for {ticks} ticks"

        # a receiver that hangs (no answer for as long as it is held): the loop does not wait
        hanging = Receiver()
        hanging.hang.clear()
        try:
            hang_s, hw, _ = play_publishing(scenario, hanging.url, ticks, 20, wall=lambda: datetime.now(UTC),
                                            sleep=time.sleep, folder=tmp / "hang", timeout_s=60.0)  # fmt: skip
            answered_during = len(hanging.stored)  # answers the receiver gave before the night ended
            deadline = time.monotonic() + 10
            while hanging.held < 1 and time.monotonic() < deadline:  # the first item's request, held
                time.sleep(0.01)
            held_during = hanging.held
            hanging.hang.set()
            hw.drain(timeout_s=60)
            hw.close(5)
        finally:
            hanging.stop()
        up = Receiver()
        try:
            up_s, uw, _ = play_publishing(scenario, up.url, ticks, 20, wall=lambda: datetime.now(UTC), sleep=time.sleep,
                                          folder=tmp / "up")  # fmt: skip
            uw.close(10)
        finally:
            up.stop()
        result.trials += 1
        if answered_during == 0 and held_during >= 1 and list(hanging.stored.values()) == [1] * items:
            result.passes += 1
        else:
            result.failures.append(
                f"hanging receiver: {answered_during} answered before the night ended, {held_during} held, "
                f"{len(hanging.stored)} stored"
            )
        result.figures["tick loop (hanging / up)"] = f"{hang_s:.2f} s / {up_s:.2f} s"
    return result


# ----------------------------------------------------------------------------- the wall clock


class JumpingWall:
    """A wall clock that follows real time but is set back by ``back`` at ``back_at`` seconds and
    forward by ``forward`` at ``forward_at`` (seconds since it was made)."""

    def __init__(self, start: datetime, back_at: float, back: timedelta, forward_at: float, forward: timedelta) -> None:
        self.start, self.m0 = start, time.monotonic()
        self.back_at, self.back, self.forward_at, self.forward = back_at, back, forward_at, forward

    def __call__(self) -> datetime:
        s = time.monotonic() - self.m0
        t = self.start + timedelta(seconds=s)
        if s >= self.back_at:
            t -= self.back
        if s >= self.forward_at:
            t += self.forward
        return t


def drill_clock(scenario: Any, *, seconds: float = 3.0, folder: Path | None = None) -> DrillResult:
    """A live night (ticks on the wall clock) whose wall clock is set back an hour and forward a
    day; inputs every 50 ms make it tick often. Ticks must increase strictly, with no gap past
    the real time elapsed."""
    from skywarden import events as E
    from skywarden.service.live import LiveNight

    result = DrillResult("clock")
    with _folder(folder) as tmp:
        wall = JumpingWall(datetime.now(UTC), seconds / 3, timedelta(hours=1), 2 * seconds / 3, timedelta(days=1))
        live = LiveNight(scenario, str(tmp / "live.sqlite"), exercise=False, wall=wall)
        live.open()
        live.start()
        t0 = time.monotonic()
        try:
            while time.monotonic() - t0 < seconds:
                live.submit(E.ClaimRecorded(t=wall(), claim_id="CL-0001", source="drill", what="drone_sighting"))
                time.sleep(0.05)
            elapsed = time.monotonic() - t0
        finally:
            live.stop()
        ticks = [e.t for e in (r.event() for r in _read(tmp / "live.sqlite")) if isinstance(e, E.Tick)]
        result.trials += 1
        gaps = [(b - a).total_seconds() for a, b in zip(ticks, ticks[1:], strict=False)]
        span = (ticks[-1] - ticks[0]).total_seconds() if ticks else 0.0
        if len(ticks) < 3:
            result.failures.append(f"only {len(ticks)} ticks")
        elif min(gaps) <= 0:
            result.failures.append("ticks not strictly increasing")
        elif span > elapsed + 1.5:
            result.failures.append(f"ticks span {span:.1f} s in {elapsed:.1f} s: skipped ahead")
        else:
            result.passes += 1
        result.figures = {
            "wall clock": "set back 1 h, then forward 1 day",
            "ticks": len(ticks),
            "smallest / largest gap": f"{min(gaps, default=0):.2f} s / {max(gaps, default=0):.2f} s",
            "span / real time": f"{span:.1f} s / {seconds:.1f} s",
        }
    return result


def _read(path: Path) -> Iterator[Any]:
    from skywarden.log import open_log

    log = open_log(path)
    try:
        yield from log.read()
    finally:
        log.close()


# ----------------------------------------------------------------------------- main


class _folder:
    def __init__(self, folder: Path | None) -> None:
        self.given, self._tmp = folder, None

    def __enter__(self) -> Path:
        if self.given is not None:
            self.given.mkdir(parents=True, exist_ok=True)
            return self.given
        self._tmp = tempfile.TemporaryDirectory(prefix="skywarden-drill-")
        return Path(self._tmp.name)

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    from skywarden.scenario import load_scenario
    from tests.test_log_contract import NATS_URL, PG_URL, nats_unavailable, pg_unavailable

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("drills", nargs="*", default=["sigkill", "disk_full", "server", "webhook", "clock"],
                    help="also: sigkill_server (PostgreSQL, NATS), disk_full_server (PostgreSQL), disk_full_nats, restart (servers of its own)")  # fmt: skip
    ap.add_argument("--trials", type=int, default=50, help="SIGKILL trials (default 50)")
    ap.add_argument("--until", default="00:05", help="the night's end for the killed runs (HH:MM)")
    ap.add_argument("--server-trials", type=int, default=3)
    args = ap.parse_args(argv)
    os.environ.setdefault("SKYWARDEN_CONFIG_DIR", tempfile.mkdtemp(prefix="skywarden-site-"))
    scenario = load_scenario()
    results: list[DrillResult] = []
    for name in args.drills:
        t0 = time.perf_counter()
        if name == "sigkill":
            res = drill_sigkill(args.trials, args.until)
        elif name == "disk_full":
            res = drill_disk_full([256 * 1024, 512 * 1024, 1024 * 1024, 1536 * 1024, 2048 * 1024], args.until)
        elif name == "server":
            for backend, url, why in (("postgres", PG_URL, pg_unavailable()), ("nats", NATS_URL, nats_unavailable())):
                if why:
                    print(f"server ({backend}): skipped: {why}")
                    continue
                res = drill_server(backend, url, args.server_trials, args.until)
                res.figures["took"] = f"{time.perf_counter() - t0:.0f} s"
                print(res.line(), *res.failures, sep="\n  ", flush=True)
                results.append(res)
                t0 = time.perf_counter()
            continue
        elif name == "restart":
            for backend in ("postgres", "nats"):
                why = restart_unavailable(backend)
                if why:
                    print(f"restart ({backend}): skipped: {why}")
                    continue
                res = drill_restart(backend, [False, True] * args.server_trials, args.until)
                res.figures["took"] = f"{time.perf_counter() - t0:.0f} s"
                print(res.line(), *res.failures, sep="\n  ", flush=True)
                results.append(res)
                t0 = time.perf_counter()
            continue
        elif name == "disk_full_nats":
            why = nats_disk_full_unavailable()
            if why:
                print(f"disk_full (nats): skipped: {why}")
                continue
            res = drill_disk_full_nats([(300 * 1024, True), (600 * 1024, True), (300 * 1024, False)], args.until)
        elif name in ("sigkill_server", "disk_full_server"):
            servers = [("postgres", PG_URL, pg_unavailable())]
            if name == "sigkill_server":
                servers.append(("nats", NATS_URL, nats_unavailable()))
            else:
                servers = [(b, u, why or pg_disk_full_unavailable(u)) for b, u, why in servers]
            for backend, url, why in servers:
                if why:
                    print(f"{name} ({backend}): skipped: {why}")
                    continue
                if name == "sigkill_server":
                    res = drill_sigkill(args.server_trials, args.until, backend=backend, base_url=url)
                else:
                    res = drill_disk_full_postgres([256 * 1024, 512 * 1024, 1024 * 1024], url, args.until)
                res.figures["took"] = f"{time.perf_counter() - t0:.0f} s"
                print(res.line(), *res.failures, sep="\n  ", flush=True)
                results.append(res)
                t0 = time.perf_counter()
            continue
        elif name == "webhook":
            res = drill_webhook(scenario)
        elif name == "clock":
            res = drill_clock(scenario)
        else:
            ap.error(f"unknown drill {name!r}")
        res.figures["took"] = f"{time.perf_counter() - t0:.0f} s"
        print(res.line(), *res.failures, sep="\n  ", flush=True)
        results.append(res)
    return 0 if all(r.passes == r.trials for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
