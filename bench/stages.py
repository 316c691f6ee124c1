"""CPU time of each stage alone, and of the simulator alone, over one night.

On a shared virtual machine the wall time of a whole night can drift by half within an hour, so
that one change is hard to tell from another. This benchmark times the parts one at a time, in
CPU seconds, each several times (the figures printed are the least and the median):

  - the simulator: the whole night polled once a second, no stage;
  - each stage: fed a night log's records tick by tick (every record of a tick at that tick),
    from fresh stages each time; it sees what it would see in a night, a tick sooner at most
    for what a later stage derived.

Without a log it first plays the default night into a temporary one. Compare two versions of
the code by running this in each over the same log (``--log``), alternately.

examples:
  python bench/stages.py                                  # the default night, every stage
  python bench/stages.py --log night-out/night.sqlite --stages kills,threat --repeat 5
  python bench/stages.py --until 01:00 --no-simulator     # the first hour only
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from skywarden.events import Event, Tick
from skywarden.log import open_log
from skywarden.pipeline import build_stages
from skywarden.play import play_night
from skywarden.scenario import LoadedScenario, load_scenario
from skywarden.scenario.sim import Simulator

console = Console()


def ticks_of(log_path: Path) -> list[tuple[datetime, list[Event]]]:
    """The log's records grouped as the runtime appended them: a tick's inputs, its Tick, then
    what the stages derived."""
    log = open_log(log_path)
    try:
        out: list[tuple[datetime, list[Event]]] = []
        cur: list[Event] = []
        now: datetime | None = None
        for rec in log.read():
            ev = rec.event()
            if type(ev).INPUT and now is not None:
                out.append((now, cur))
                cur, now = [], None
            cur.append(ev)
            if isinstance(ev, Tick):
                now = ev.t
        if now is not None:
            out.append((now, cur))
        return out
    finally:
        log.close()


def time_stage(scn: LoadedScenario, name: str, ticks: Sequence[tuple[datetime, list[Event]]]) -> float:
    """CPU seconds of one fresh stage over every tick."""
    stage = next(s for s in build_stages(scn) if s.name == name)
    t0 = time.process_time()
    for now, events in ticks:
        stage.step(now, events)
    return time.process_time() - t0


def time_simulator(scn: LoadedScenario, until: datetime | None) -> float:
    """CPU seconds of a fresh simulator polled once a second to ``until`` (the night's end)."""
    sim = Simulator(scn)
    t0 = time.process_time()
    sim.run(1.0, until=until)
    return time.process_time() - t0


def main(argv: Sequence[str] | None = None) -> Table:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log", type=Path, help="a night log of the default scenario (default: play one)")
    ap.add_argument("--stages", default="", help="stage names, comma-separated (default: all)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each part (default 3)")
    ap.add_argument("--until", help="play only to this local time (HH:MM) when no --log is given")
    ap.add_argument("--no-simulator", action="store_true", help="skip the simulator")
    args = ap.parse_args(argv)
    scn = load_scenario()
    until = scn.at(args.until) if args.until else None
    names = [n for n in args.stages.split(",") if n] or [s.name for s in build_stages(scn)]
    with tempfile.TemporaryDirectory() as tmp:
        path = args.log
        if path is None:
            path = Path(tmp) / "night.sqlite"
            with console.status("playing the night into a temporary log"):
                log = open_log(path)
                play_night(scn, log, until=until)
                log.close()
        ticks = ticks_of(path)
    table = Table(title=f"CPU seconds alone over {len(ticks):,} ticks, {args.repeat} runs each")
    for col in ("part", "least", "median", "runs"):
        table.add_column(col, justify="left" if col == "part" else "right")
    parts: list[tuple[str, object]] = [(n, lambda n=n: time_stage(scn, n, ticks)) for n in names]
    if not args.no_simulator:
        last = ticks[-1][0] if ticks else None
        parts.insert(0, ("(simulator)", lambda: time_simulator(scn, last)))
    for label, run in parts:
        runs = []
        with console.status(f"timing {label}"):
            for _ in range(args.repeat):
                runs.append(run())  # type: ignore[operator]
        table.add_row(label, f"{min(runs):.2f}", f"{statistics.median(runs):.2f}", " ".join(f"{r:.2f}" for r in runs))
    return table


if __name__ == "__main__":
    console.print(main())
