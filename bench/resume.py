"""Resume bench: how long a signing writer takes to continue a whole night's log, with the Merkle
frontier stored beside its checkpoints (it hashes only the records after the last one) and
without (a log written before frontiers were stored: it reads and hashes every record).

Plays the default night (whole, unless ``--minutes``) into a signed SQLite log once (or takes
``--night``, a log already played), then, alternating, on a fresh copy each time:

  with frontier     the log as the writer leaves it today
  killed            the same, less its closing checkpoint (a writer killed before close): the
                    next one hashes the records after the checkpoint before it
  without frontier  the same log with the checkpoints' ``frontier`` column dropped (an older log)

opens it as a signing writer and appends one tick (the first append takes the writer lock and
rebuilds the Merkle state), and reports CPU seconds of this process (``time.process_time``) and
wall seconds for that open + first append, and what the writer did (``resumed_from``,
``rehashed``). With ``--postgres URL`` it does the same on a PostgreSQL copy of the night
(there the frontier is set to NULL for the "without" rounds, and the server's time shows in the
wall seconds only).

Example:
    PYTHONPATH=. python bench/resume.py --rounds 5
    PYTHONPATH=. python bench/resume.py --night /tmp/night.db --keep --rounds 5 --postgres postgresql://127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from skywarden.events import Event, Tick
from skywarden.log import Signing, SqliteLog, open_log
from skywarden.log.checkpoint import new_keys

console = Console()


def play(path: Path, signing: Signing, minutes: float | None) -> None:
    from skywarden.play import play_night
    from skywarden.scenario import default_scenario_path, load_scenario

    scn = load_scenario(default_scenario_path())
    log = open_log(path, signing)
    until = None if minutes is None else scn.start + timedelta(minutes=minutes)
    play_night(scn, log, until=until, workers=1)
    log.close()


def next_tick(path: Path | str) -> Event:
    log = open_log(path, signing=None)
    try:
        last = next(iter(log.read(after=log.last_seq() - 1))).event()
    finally:
        log.close()
    return Tick(t=last.t + timedelta(milliseconds=250))


def resume_once(url: str | Path, signing: Signing) -> tuple[float, float, int, int]:
    """CPU and wall seconds to open ``url`` as a signing writer and append one tick; and where
    its Merkle state came from (checkpoint seq, records hashed)."""
    tick = next_tick(url)
    c0, w0 = time.process_time(), time.perf_counter()
    log = open_log(url, signing)
    log.append([tick])
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    notary = log.notary  # type: ignore[attr-defined]
    out = (cpu, wall, notary.resumed_from, notary.rehashed)
    log.close()
    return out


def drop_frontiers_sqlite(path: Path) -> None:
    db = sqlite3.connect(path)
    with db:
        db.execute("ALTER TABLE checkpoints DROP COLUMN frontier")
    db.close()


def drop_last_checkpoint(path: Path) -> None:
    db = sqlite3.connect(path)
    with db:
        db.execute("DELETE FROM checkpoints WHERE rowid = (SELECT max(rowid) FROM checkpoints)")
    db.close()


def copy_to_postgres(src: Path, url: str, signing: Signing) -> None:
    """The night's records into a PostgreSQL log, one batch per tick, signed as a writer would."""
    reader = SqliteLog(src)
    log = open_log(url, signing)
    batch: list[Event] = []
    for rec in reader.read():
        ev = rec.event()
        batch.append(ev)
        if isinstance(ev, Tick):
            log.append(batch)
            batch = []
    if batch:
        log.append(batch)
    log.close()
    reader.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=None, help="minutes of the default night (default: all of it)")
    ap.add_argument("--night", type=Path, default=None, help="a signed night log to use (played there if missing)")
    ap.add_argument("--keep", action="store_true", help="keep --night for the next run")
    ap.add_argument("--key", type=Path, default=None, help="the site key the night was signed with (default: a new one beside it)")
    ap.add_argument("--every", type=int, default=1000, help="records between checkpoints")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--postgres", default="", help="also on a PostgreSQL copy (a libpq URL)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        night = args.night or tmp / "night.db"
        if args.key is not None and not args.key.exists():
            ap.error(f"--key {args.key}: no such file")
        key = args.key or night.with_name(night.name + ".site.key")
        if not key.exists():
            key, _ = new_keys(night.with_name(night.name + ".site"))
        signing = Signing(key, args.every)
        if not night.exists():
            t0 = time.perf_counter()
            play(night, signing, args.minutes)
            console.print(f"played the night into {night} in {time.perf_counter() - t0:.0f} s")
        records = SqliteLog(night).last_seq()
        cps = len(SqliteLog(night).checkpoints())

        results: dict[str, list[tuple[float, float, int, int]]] = {}
        for r in range(args.rounds):
            for mode in ("without frontier", "with frontier", "with frontier, killed before close"):
                copy = tmp / f"copy-{r}-{len(mode)}.db"
                shutil.copy(night, copy)
                if mode == "without frontier":
                    drop_frontiers_sqlite(copy)
                elif mode.endswith("killed before close"):
                    drop_last_checkpoint(copy)
                results.setdefault(f"SQLite, {mode}", []).append(resume_once(copy, signing))
                copy.unlink()
        if args.postgres:
            from skywarden.log.postgres import PostgresLog

            sep = "&" if "?" in args.postgres else "?"
            url = f"{args.postgres}{sep}log=resume_{uuid.uuid4().hex[:8]}"
            copy_to_postgres(night, url, signing)
            pg = open_log(url, signing=None)
            assert isinstance(pg, PostgresLog)
            try:
                for _ in range(args.rounds):
                    for mode in ("without frontier", "with frontier"):
                        if mode == "without frontier":
                            with pg._connect() as conn:  # noqa: SLF001 - a bench reaching into its own copy
                                conn.execute(f"UPDATE {pg.table}_checkpoints SET frontier = NULL")  # noqa: S608 - our table
                        results.setdefault(f"PostgreSQL, {mode}", []).append(resume_once(url, signing))
            finally:
                pg.drop()
                pg.close()
        if args.keep and args.night:
            console.print(f"kept {night} (key {key})")

    table = Table(title=f"Opening a signing writer on a night's log and appending one tick ({records:,} records, {cps} checkpoints, one every {args.every})")
    for col in ("log", "CPU s per round", "median CPU s", "median wall s", "Merkle state from", "records hashed"):
        table.add_column(col)
    for name, runs in results.items():
        table.add_row(
            name,
            ", ".join(f"{c:.3f}" for c, *_ in runs),
            f"{statistics.median(c for c, *_ in runs):.3f}",
            f"{statistics.median(w for _, w, *_ in runs):.3f}",
            f"checkpoint at {runs[-1][2]:,}" if runs[-1][2] else "the start (every record)",
            f"{runs[-1][3]:,}",
        )
    console.print(table)
    console.print(f"[dim]load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs[/]")


if __name__ == "__main__":
    main()
