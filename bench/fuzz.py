"""Fuzz every input edge and count what happens (docs/validation.md, docs/benchmarks.md).

    python bench/fuzz.py --inputs 1000000                     # every edge, 10^6 inputs each
    python bench/fuzz.py --inputs 100000 --edges scenario,policy --engine mutate

The edges are those of tests/fuzz_edges.py: JSON lines (``run --input``, ``POST /api/ingest``),
the track CSV reader and tracker, scenario, policy and sensors files, and the seven wire
decoders' entry points (each event through ``ReportChecker.check_event``). Per edge it prints the
inputs tried; those with at least one rejection, and the rejections counted by reason; the inputs
that made only accepted events; accepted events; crashes (an exception escaping the edge, or one
a decoder's ``feed`` caught and rejected as ``internal``: the goal is 0) and undecodable events (an event that would not come back from the log's encoding
equal to itself: the goal is 0).

Engines: ``atheris`` (coverage-guided libFuzzer, when ``pip install atheris`` built; each edge
in a process of its own, the seeds as its corpus, half of the mutations this file's hostile
ones), or ``mutate`` (this file's mutations of the seeds, random but repeatable with ``--seed``).
``auto`` (the default) takes atheris where it imports.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@dataclass
class Tally:
    edge: str
    engine: str
    tried: int = 0
    with_rejection: int = 0
    only_accepted: int = 0
    nothing_made: int = 0
    events_accepted: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    crashes: int = 0
    crash_kinds: Counter[str] = field(default_factory=Counter)
    undecodable: int = 0
    seconds: float = 0.0
    first_crash: str = ""

    def add(self, run: object, data: bytes) -> None:
        from tests.fuzz_edges import Outcome

        self.tried += 1
        try:
            out = run(data)  # type: ignore[operator]
        except Exception as exc:  # the thing counted: nothing may escape an edge
            self.crashes += 1
            tb = traceback.extract_tb(exc.__traceback__)[-1]
            self.crash_kinds[f"{type(exc).__name__} at {Path(tb.filename).name}:{tb.lineno}"] += 1
            if not self.first_crash:
                self.first_crash = data[:2000].hex()
            return
        assert isinstance(out, Outcome)
        if out.internal:  # caught by the decoder's feed, but a bug all the same
            self.crashes += 1
            self.crash_kinds.update(out.internal)
            if not self.first_crash:
                self.first_crash = data[:2000].hex()
        self.events_accepted += out.accepted
        self.undecodable += out.undecodable
        self.reasons.update(out.reasons)
        if out.reasons:
            self.with_rejection += 1
        elif out.accepted:
            self.only_accepted += 1
        else:
            self.nothing_made += 1

    def to_json(self) -> dict[str, object]:
        # (dataclasses.asdict rebuilds a Counter from its items, counting the pairs)
        d = {k: v for k, v in vars(self).items()}
        d["reasons"], d["crash_kinds"] = dict(self.reasons), dict(self.crash_kinds)
        return d

    def line(self) -> str:
        rate = self.tried / self.seconds if self.seconds else 0.0
        return (
            f"{self.edge:<15} {self.engine:<8} tried {self.tried:>9,}  rejected {self.with_rejection:>9,}  "
            f"accepted {self.only_accepted:>9,}  nothing {self.nothing_made:>8,}  events {self.events_accepted:>10,}  "
            f"crashes {self.crashes}  undecodable {self.undecodable}  ({self.seconds:,.0f} s, {rate:,.0f}/s)"
        )


def run_mutate(name: str, n: int, seed: int) -> Tally:
    from tests.fuzz_edges import cached_frames, edges, mutate

    edge = edges()[name]
    seeds = edge.seeds()
    rng = random.Random(f"{seed}:{name}")
    tally = Tally(name, "mutate")
    t0 = time.perf_counter()
    with cached_frames():
        for i in range(n):
            base = seeds[i % len(seeds)] if i < len(seeds) else rng.choice(seeds)
            data = base if i < len(seeds) else mutate(base, rng, rng.randint(1, 8), seeds)
            tally.add(edge.run, data)
    tally.seconds = time.perf_counter() - t0
    return tally


def run_atheris_child(name: str, n: int, seed: int, stats: Path) -> None:
    """In a process of its own: libFuzzer over one edge until ``n`` inputs, then the tally to
    ``stats`` and exit (libFuzzer would otherwise run for ever)."""
    import atheris

    # numba compiles these modules' functions from their bytecode, which must stay as written
    compiled = ["skywarden.polygons", "skywarden.assess.predict", "skywarden.disclosure.alerts", "skywarden.tracking.classify", "skywarden.tracking.kernels"]
    with atheris.instrument_imports(include=["skywarden"], exclude=compiled):
        from tests import fuzz_edges

    edge = fuzz_edges.edges()[name]
    seeds = edge.seeds()
    rng = random.Random(f"{seed}:{name}")
    tally = Tally(name, "atheris")
    t0 = time.perf_counter()
    frames = fuzz_edges.cached_frames()
    frames.__enter__()

    def one(data: bytes) -> None:
        tally.add(edge.run, data)
        if tally.tried >= n:
            tally.seconds = time.perf_counter() - t0
            stats.write_text(json.dumps(tally.to_json()))
            os._exit(0)

    def mutator(data: bytes, max_size: int, s: int) -> bytes:
        if rng.random() < 0.5:
            return fuzz_edges.mutate(data, rng, rng.randint(1, 4), seeds)[:max_size]
        return atheris.Mutate(data, max_size)

    corpus = Path(tempfile.mkdtemp(prefix=f"skywarden-corpus-{name}-"))
    for k, s_ in enumerate(seeds):
        (corpus / f"seed{k}").write_bytes(s_)
    args = [sys.argv[0], str(corpus), f"-seed={seed or 1}", "-max_len=262144", "-rss_limit_mb=8192", "-timeout=60", "-print_final_stats=0", f"-artifact_prefix={corpus}/"]
    atheris.Setup(args, one, custom_mutator=mutator)
    atheris.Fuzz()


def run_atheris(name: str, n: int, seed: int) -> Tally:
    stats = Path(tempfile.mkstemp(prefix=f"skywarden-fuzz-{name}-", suffix=".json")[1])
    cmd = [sys.executable, __file__, "--child", name, "--inputs", str(n), "--seed", str(seed), "--stats", str(stats)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    try:
        got = json.loads(stats.read_text() or "{}")
    finally:
        stats.unlink(missing_ok=True)
    if not got:
        # the process died under libFuzzer (a crash it caught itself, e.g. in C): report it
        tally = Tally(name, "atheris", crashes=1)
        tally.crash_kinds[f"process ended {proc.returncode}: {proc.stderr.strip().splitlines()[-1:] if proc.stderr else ''}"] += 1
        return tally
    got["reasons"] = Counter(got["reasons"])
    got["crash_kinds"] = Counter(got["crash_kinds"])
    return Tally(**got)


def guard_cost(path: Path) -> None:
    """CPU seconds of ``round_trips`` (what Runtime.tick adds) over a played night's records."""
    from skywarden import events as E
    from skywarden.ingest.validate import round_trips
    from skywarden.log import open_log

    log = open_log(str(path))
    try:
        evs = [r.event() for r in log.read()]
    finally:
        log.close()
    inputs = [e for e in evs if E.is_input(e)]
    for name, batch in (("inputs", inputs), ("all", evs)):
        best = min(_timed(round_trips, batch) for _ in range(3))
        print(f"round trip of {len(batch):,} {name}: {best:.2f} s CPU (best of 3)")


def _timed(fn: object, batch: list[object]) -> float:
    t0 = time.process_time()
    bad = sum(1 for e in batch if fn(e))  # type: ignore[operator]
    assert bad == 0, f"{bad} records of a played night do not round-trip"
    return time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", type=int, default=10_000, help="inputs per edge (target: 1000000)")
    ap.add_argument("--edges", default="", help="comma-separated edges (default: all)")
    ap.add_argument("--engine", choices=["auto", "atheris", "mutate"], default="auto")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, help="also write the tallies here")
    ap.add_argument("--reasons", type=int, default=8, help="reasons shown per edge")
    ap.add_argument("--guard-cost", type=Path, metavar="LOG", help="instead: time the runtime's round-trip guard over every record of this log")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--stats", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        run_atheris_child(a.child, a.inputs, a.seed, a.stats)
        return
    if a.guard_cost:
        guard_cost(a.guard_cost)
        return
    from tests.fuzz_edges import edges

    names = [e for e in a.edges.split(",") if e] or list(edges())
    engine = a.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "mutate"
    print(f"engine: {engine}; {a.inputs:,} inputs per edge; seed {a.seed}", flush=True)
    tallies = []
    for name in names:
        tally = run_atheris(name, a.inputs, a.seed) if engine == "atheris" else run_mutate(name, a.inputs, a.seed)
        tallies.append(tally)
        print(tally.line(), flush=True)
        for why, k in tally.reasons.most_common(a.reasons):
            print(f"    {k:>9,}  {why}")
        for why, k in tally.crash_kinds.most_common():
            print(f"    CRASH {k:>5,}  {why}")
    if a.json:
        a.json.write_text(json.dumps([t.to_json() for t in tallies], indent=1))
    total_crashes = sum(t.crashes for t in tallies)
    total_undecodable = sum(t.undecodable for t in tallies)
    print(f"total: {sum(t.tried for t in tallies):,} inputs, {total_crashes} crashes, {total_undecodable} undecodable")
    sys.exit(1 if total_crashes or total_undecodable else 0)


if __name__ == "__main__":
    main()
