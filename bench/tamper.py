"""Tamper bench: does `log verify --key` catch each kind of tampering, on each backend, and what
does signing cost a night?

Plays the first minutes of the default night into a signed log on every backend that answers
(SQLite always; PostgreSQL and NATS JetStream when their servers do), then, each time on a fresh
copy, applies one kind of tampering and verifies with the site's public key:

  1. flipped byte     one digit of a record's stored event changed
  2. index column     SQLite / PostgreSQL: a kill's ``kind`` column set to 'tick' and, on
                      another copy, its ``t`` column moved to the year 2000 (caught only if both
                      are); NATS: a record's Skywarden-Seq header (its only index)
  3. deleted record   one record removed
  4. reordered pair   two neighbouring records swapped
  5. chain recomputed a kill's number changed in the stored JSON and every later hash
                      recomputed with the documented formula, without the key

and prints caught/5 per backend (target 5 of 5; the recomputed chain is caught by the signed
checkpoints). Then plays the night without and with signing, alternately, and prints the cost
(target: at most 5 %).

Example:
    PYTHONPATH=. python bench/tamper.py                       # 25 minutes, all backends, cost on 60 minutes
    PYTHONPATH=. python bench/tamper.py --minutes 25 --backends sqlite --cost-minutes 0
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from skywarden.errors import SkywardenError
from skywarden.events import Event, Tick
from skywarden.log import MemoryLog, Signing, open_log
from skywarden.log.audit import audit
from skywarden.log.chain import GENESIS, link
from skywarden.log.checkpoint import load_public, new_keys

console = Console()
PG_URL = os.environ.get("SKYWARDEN_TEST_PG", "postgresql://127.0.0.1:5432/test")
NATS_URL = os.environ.get("SKYWARDEN_TEST_NATS", "nats://127.0.0.1:4222")
KINDS = ["flipped byte", "index column", "deleted record", "reordered pair", "chain recomputed"]


def night_events(minutes: float) -> list[list[Event]]:
    """The first ``minutes`` of the default night, as the runtime appends it: one batch a tick."""
    from skywarden.play import play_night
    from skywarden.scenario import default_scenario_path, load_scenario

    scn = load_scenario(default_scenario_path())
    mem = MemoryLog()
    play_night(scn, mem, until=scn.start + timedelta(minutes=minutes), workers=1)
    batches: list[list[Event]] = [[]]
    for rec in mem.read():
        ev = rec.event()
        batches[-1].append(ev)
        if isinstance(ev, Tick):
            batches.append([])
    return [b for b in batches if b]


def caught(url: str, pub: object) -> str:
    """'' if the tampered log verifies clean with the key, else what verify said."""
    log = open_log(url, signing=None)
    try:
        rep = audit(log, pub)  # type: ignore[arg-type]
    except SkywardenError as exc:
        return str(exc)
    finally:
        log.close()
    return "; ".join(rep.problems)


def write(url: str, batches: list[list[Event]], signing: Signing | None) -> None:
    log = open_log(url, signing)
    for b in batches:
        log.append(b)
    log.close()


def kill_seq(rows: list[tuple[int, bytes]]) -> int:
    for seq, data in rows:
        if b'"kind":"kill_numbered"' in data:
            return seq
    raise SystemExit("no kill in these minutes of the night (the first is after ~19): give --minutes 25 or more")


def recomputed(rows: list[tuple[int, bytes]]) -> list[tuple[int, bytes, bytes]]:
    """The rewrite without the key: a kill's number changed, every hash from there recomputed."""
    target = kill_seq(rows)
    out, prev = [], GENESIS
    for seq, data in rows:
        if seq == target:
            i = data.index(b'"number":') + len(b'"number":')
            data = data[:i] + b"9" + data[i:]  # the 3rd becomes the 93rd
        prev = link(prev, seq, data)
        out.append((seq, data, prev))
    return out


def flip(data: bytes) -> bytes:
    i = next(i for i, c in enumerate(data) if chr(c).isdigit())
    d = bytearray(data)
    d[i] = ord("1") if d[i] != ord("1") else ord("2")
    return bytes(d)


# ----------------------------------------------------------------------------- per backend


def sqlite_cases() -> dict[str, list[Callable[[sqlite3.Connection], None]]]:
    def rows(db: sqlite3.Connection) -> list[tuple[int, bytes]]:
        return [(s, bytes(d)) for s, d in db.execute("SELECT seq, data FROM events ORDER BY seq")]

    def flipped(db: sqlite3.Connection) -> None:
        (d,) = db.execute("SELECT data FROM events WHERE seq = 100").fetchone()
        db.execute("UPDATE events SET data = ? WHERE seq = 100", (flip(bytes(d)),))

    def kind(db: sqlite3.Connection) -> None:
        db.execute("UPDATE events SET kind = 'tick' WHERE seq = ?", (kill_seq(rows(db)),))

    def when(db: sqlite3.Connection) -> None:
        db.execute("UPDATE events SET t = '2000-01-01T00:00:00Z' WHERE seq = ?", (kill_seq(rows(db)),))

    def deleted(db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM events WHERE seq = 100")

    def reordered(db: sqlite3.Connection) -> None:
        db.execute("UPDATE events SET seq = -1 WHERE seq = 100")
        db.execute("UPDATE events SET seq = 100 WHERE seq = 101")
        db.execute("UPDATE events SET seq = 101 WHERE seq = -1")

    def rewritten(db: sqlite3.Connection) -> None:
        for seq, data, h in recomputed(rows(db)):
            db.execute("UPDATE events SET data = ?, hash = ? WHERE seq = ?", (data, h, seq))

    return {
        "flipped byte": [flipped],
        "index column": [kind, when],
        "deleted record": [deleted],
        "reordered pair": [reordered],
        "chain recomputed": [rewritten],
    }


def bench_sqlite(batches: list[list[Event]], signing: Signing, pub: object, tmp: Path) -> dict[str, str]:
    good = tmp / "good.db"
    write(str(good), batches, signing)
    assert caught(str(good), pub) == "", "the untouched log must verify"
    out = {}
    for kind, tampers in sqlite_cases().items():
        hits = []
        for k, tamper in enumerate(tampers):
            copy = tmp / f"t{k}.db"
            shutil.copy(good, copy)
            db = sqlite3.connect(copy)
            with db:
                tamper(db)
            db.close()
            hits.append(caught(str(copy), pub))
            copy.unlink()
        out[kind] = " / ".join(hits) if all(hits) else ""
    return out


def bench_postgres(batches: list[list[Event]], signing: Signing, pub: object) -> dict[str, str]:
    import psycopg

    out = {}
    statements = {
        "flipped byte": ["UPDATE {t} SET data = overlay(data placing '9' from 40 for 1) WHERE seq = 100"],
        "index column": [
            "UPDATE {t} SET kind = 'tick' WHERE seq = (SELECT min(seq) FROM {t} WHERE kind = 'kill_numbered')",
            "UPDATE {t} SET t = '2000-01-01T00:00:00Z' WHERE seq = (SELECT min(seq) FROM {t} WHERE kind = 'kill_numbered')",
        ],
        "deleted record": ["DELETE FROM {t} WHERE seq = 100"],
        "reordered pair": [
            "UPDATE {t} SET seq = 1000000000 WHERE seq = 100; UPDATE {t} SET seq = 100 WHERE seq = 101; "
            "UPDATE {t} SET seq = 101 WHERE seq = 1000000000"
        ],
        "chain recomputed": ["REWRITE"],
    }
    for kind, sqls in statements.items():
        hits = []
        for statement in sqls:
            name = f"tamper_{uuid.uuid4().hex[:8]}"
            url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}log={name}"
            write(url, batches, signing)
            table = f"skywarden_{name}"
            with psycopg.connect(PG_URL, autocommit=True) as db:
                db.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")  # type: ignore[arg-type]
                if statement == "REWRITE":
                    rows = [(int(s), bytes(d)) for s, d in db.execute(f"SELECT seq, data FROM {table} ORDER BY seq")]  # type: ignore[arg-type]
                    with db.transaction():
                        for seq, data, h in recomputed(rows):
                            db.execute(f"UPDATE {table} SET data = %s, hash = %s WHERE seq = %s", (data, h, seq))  # type: ignore[arg-type]
                else:
                    db.execute(statement.format(t=table))  # type: ignore[arg-type]
                db.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")  # type: ignore[arg-type]
            hits.append(caught(url, pub))
            last = open_log(url, signing=None)
            last.drop()  # type: ignore[attr-defined]
        out[kind] = " / ".join(hits) if all(hits) else ""
    return out


def bench_nats(batches: list[list[Event]], signing: Signing, pub: object) -> dict[str, str]:
    """Messages cannot be edited in place: each tampering is a forged copy of the stream (its
    messages republished with one thing changed) beside the good log's checkpoints."""
    import nats

    from skywarden.log.nats import H_HASH, H_SEQ, NatsLog

    name = f"tamper_{uuid.uuid4().hex[:8]}"
    good_url = f"{NATS_URL}?log={name}"
    write(good_url, batches, signing)
    good = NatsLog(good_url)
    raw = [(h or {}, d) for _, _, h, d in good._raw(0)]
    cps = good.checkpoints()
    target = kill_seq([(int(h[H_SEQ]), d) for h, d in raw])
    rewrite = {seq: (d, hh) for seq, d, hh in recomputed([(int(h[H_SEQ]), d) for h, d in raw])}

    def forge(alter: Callable[[int, dict[str, str], bytes], list[tuple[dict[str, str], bytes]]]) -> str:
        copy = NatsLog(f"{NATS_URL}?log={name}_x{uuid.uuid4().hex[:6]}")
        msgs = []
        for h, d in raw:
            h = {k: v for k, v in h.items() if not k.startswith("Nats-Expected")}
            msgs.extend(alter(int(h[H_SEQ]), h, d))

        async def go() -> None:
            nc = await nats.connect(NATS_URL)
            js = nc.jetstream()
            for h, d in msgs:
                await js.publish(copy.subject, d, headers=h)
            await nc.drain()

        asyncio.run(go())
        for cp in cps:  # the good log's signed checkpoints, beside the forged stream
            copy.put_checkpoint(cp)
        try:
            return caught(copy.url, pub)
        finally:
            copy.drop()

    swapped: dict[int, tuple[dict[str, str], bytes]] = {}

    def reorder(seq: int, h: dict[str, str], d: bytes) -> list[tuple[dict[str, str], bytes]]:
        if seq == 100:
            swapped[100] = (h, d)
            return []
        if seq == 101:
            return [(h, d), swapped[100]]
        return [(h, d)]

    out = {
        "flipped byte": forge(lambda s, h, d: [(h, flip(d) if s == 100 else d)]),
        "index column": forge(lambda s, h, d: [({**h, H_SEQ: "99"} if s == 100 else h, d)]),
        "deleted record": forge(lambda s, h, d: [] if s == 100 else [(h, d)]),
        "reordered pair": forge(reorder),
        "chain recomputed": forge(
            lambda s, h, d: [({**h, H_HASH: rewrite[s][1].hex()}, rewrite[s][0]) if s >= target else (h, d)]
        ),
    }
    good.drop()
    return out


# ----------------------------------------------------------------------------- cost of signing


def signing_cost(
    minutes: float, signing: Signing, rounds: int, tmp: Path
) -> tuple[list[float], list[float], list[float], int]:
    """CPU seconds (this process) to play the night unsigned and signed, alternating; and CPU
    seconds of the signing work alone on the same night's records (the notary: one more sha256
    per record for the Merkle tree, an Ed25519 signature and a row per checkpoint), which is
    what signing adds to a night without the noise of the rest."""
    from skywarden.events import encode
    from skywarden.log.checkpoint import Notary
    from skywarden.play import play_night
    from skywarden.scenario import default_scenario_path, load_scenario

    scn = load_scenario(default_scenario_path())
    plays: dict[bool, list[float]] = {False: [], True: []}
    for r in range(rounds):
        for signed in (False, True):
            path = tmp / f"cost-{signed}-{r}.db"
            log = open_log(path, signing if signed else None)
            t0 = time.process_time()
            play_night(scn, log, until=scn.start + timedelta(minutes=minutes), workers=1)
            log.close()  # the closing checkpoint counts
            plays[signed].append(time.process_time() - t0)
            path.unlink()
    payloads = [[encode(e) for e in b] for b in night_events(minutes)]
    notary_s = []
    for _ in range(rounds * 3):
        store = MemoryLog()  # holds the checkpoints; the records are fed to the notary directly
        notary = Notary(signing)
        seq = 1
        t0 = time.process_time()
        for b in payloads:
            notary.appended(store, seq, b, bytes(32))
            seq += len(b)
        notary.close(store)
        notary_s.append(time.process_time() - t0)
    return plays[False], plays[True], notary_s, sum(len(b) for b in payloads)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=25, help="minutes of the default night to tamper with (the first kill is at ~19)")
    ap.add_argument("--backends", default="sqlite,postgres,nats")
    ap.add_argument("--every", type=int, default=1000, help="records between checkpoints")
    ap.add_argument("--cost-minutes", type=float, default=60, help="minutes of night for the signing cost (0: skip)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating unsigned/signed plays for the cost")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        key, pub_path = new_keys(tmp / "site")
        pub = load_public(pub_path)
        signing = Signing(key, args.every)
        batches = night_events(args.minutes)
        n = sum(len(b) for b in batches)
        table = Table(title=f"Tampering caught by `log verify --key` ({n:,} records, {args.minutes:g} minutes of the default night, a checkpoint every {args.every})")
        table.add_column("backend")
        for k in KINDS:
            table.add_column(k, justify="center")
        table.add_column("caught", justify="right")
        runners = {
            "sqlite": lambda: bench_sqlite(batches, signing, pub, tmp),
            "postgres": lambda: bench_postgres(batches, signing, pub),
            "nats": lambda: bench_nats(batches, signing, pub),
        }
        said: list[str] = []
        for name in args.backends.split(","):
            try:
                res = runners[name]()
            except Exception as exc:  # a server that is not there: say so, go on
                table.add_row(name, *["-"] * len(KINDS), f"skipped ({type(exc).__name__}: {str(exc)[:60]})")
                continue
            table.add_row(name, *["caught" if res[k] else "[red]MISSED[/]" for k in KINDS], f"{sum(map(bool, res.values()))}/5")
            said += [f"{name}, {k}: {res[k][:150]}" for k in KINDS if res[k]]
        console.print(table)
        console.print("What verify said:", *said, sep="\n  ", soft_wrap=True, markup=False)

        if args.cost_minutes > 0:
            plain, signed, notary_s, records = signing_cost(args.cost_minutes, signing, args.rounds, tmp)
            p, sg, ns = statistics.median(plain), statistics.median(signed), statistics.median(notary_s)
            cost = Table(title=f"What signing costs: {args.cost_minutes:g} minutes of the default night ({records:,} records), SQLite, one process, CPU seconds")
            for col in ("", "runs (CPU s)", "median (CPU s)"):
                cost.add_column(col)
            cost.add_row("night, unsigned", ", ".join(f"{x:.2f}" for x in plain), f"{p:.2f}")
            cost.add_row(f"night, signed (every {args.every})", ", ".join(f"{x:.2f}" for x in signed), f"{sg:.2f}")
            cost.add_row("signing alone (Merkle leaves, signatures)", ", ".join(f"{x:.3f}" for x in notary_s), f"{ns:.3f}")
            cost.add_row("night, signed vs unsigned", "", f"{(sg - p) / p * 100:+.1f} %")
            cost.add_row("signing alone / the unsigned night", "", f"{ns / p * 100:+.2f} %  (target at most +5 %)")
            console.print(cost)
    console.print(f"[dim]{platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} CPUs[/]")


if __name__ == "__main__":
    main()
