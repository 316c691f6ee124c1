"""How long a night's log takes to write, by how many ticks go in one transaction.

A night played in one process commits every tick (14,400 for the default night); a night on two
processes commits ``split.COMMIT_TICKS`` whole ticks at a time. This benchmark takes a night log's
records as the runtime appended them (tick by tick), appends them again into fresh SQLite logs,
``--group`` ticks per transaction, and prints the wall and CPU seconds of each grouping (the same
records and chain hashes whatever the grouping: it checks the heads agree).

examples:
  PYTHONPATH=. python bench/log_ticks.py                      # plays the default night first
  PYTHONPATH=. python bench/log_ticks.py --log night-out/night.sqlite --group 1,8,32 --repeat 3
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.stages import ticks_of
from skywarden.events import Event
from skywarden.log.sqlite import SqliteLog
from skywarden.play import play_night
from skywarden.scenario import load_scenario

console = Console()


def append_grouped(ticks: Sequence[list[Event]], group: int, path: Path) -> tuple[float, float, bytes]:
    """Wall and CPU seconds to append ``ticks`` into a new log at ``path``, ``group`` ticks a
    transaction; and the log's head hash."""
    log = SqliteLog(path)
    t0, c0 = time.perf_counter(), time.process_time()
    batch: list[Event] = []
    for k, events in enumerate(ticks, start=1):
        batch += events
        if k % group == 0:
            log.append(batch)
            batch = []
    log.append(batch)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    head = log.verify().head  # (after the clock: it reads the log back)
    log.close()
    return wall, cpu, head


def main(argv: Sequence[str] | None = None) -> Table:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log", type=Path, help="a night log (default: play the default night into a temporary one)")
    ap.add_argument("--group", default="1,8", help="ticks per transaction, comma-separated (default 1,8)")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each grouping, alternating (default 2)")
    args = ap.parse_args(argv)
    groups = [int(g) for g in args.group.split(",")]
    if any(g < 1 for g in groups) or args.repeat < 1:
        ap.error("--group values and --repeat must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        src = args.log
        if src is None:
            src = Path(tmp) / "night.sqlite"
            console.print("playing the default night into a temporary log ...")
            log = SqliteLog(src)
            play_night(load_scenario(), log)
            log.close()
        ticks = [events for _, events in ticks_of(src)]
        times: dict[int, list[tuple[float, float]]] = {g: [] for g in groups}
        heads = set()
        for r in range(args.repeat):
            for g in groups:  # alternating, so that a drifting machine weighs on each alike
                wall, cpu, head = append_grouped(ticks, g, Path(tmp) / f"out-{g}-{r}.sqlite")
                times[g].append((wall, cpu))
                heads.add(head)
    if len(heads) != 1:
        raise SystemExit("the groupings wrote different logs: the chain must not depend on them")
    n = sum(len(t) for t in ticks)
    table = Table(title=f"appending {len(ticks):,} ticks ({n:,} records) into SQLite")
    for col in ("ticks a transaction", "wall s (each run)", "CPU s (each run)", "records/s (best)"):
        table.add_column(col, justify="right")
    for g in groups:
        walls = [w for w, _ in times[g]]
        table.add_row(
            str(g), " ".join(f"{w:.3f}" for w in walls), " ".join(f"{c:.3f}" for _, c in times[g]), f"{n / min(walls):,.0f}"
        )
    console.print(table)
    return table


if __name__ == "__main__":
    main()
