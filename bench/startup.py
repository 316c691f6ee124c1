"""How fast the command line starts: every command's ``--help``, a few commands up to the moment
their work begins, and the commands about one statement, claim or incident on a whole night's log.

Each figure is a fresh process (``python -m skywarden.cli ...``), run ``--repeat`` times, the runs
of all commands (and of both checkouts, with ``--compare``) taken in turn so that a machine whose
load drifts slows them alike. Printed per command: the median and the maximum wall time, and
the median CPU time of the process (user + system), which a loaded machine disturbs far less.

  - ``--help``: every command and sub-command, found by walking the Typer app.
  - start-up: the time from starting the process to entering the command's function, measured by
    a probe that replaces the function (Python, ``import skywarden.cli``, Typer parsing the
    arguments; nothing of the command's own work).
  - on a night's log: ``statement list``, ``claim list``, ``incident list``, ``incident show``,
    ``statement approve`` and ``claim add`` (the last two on a fresh copy of the log each run,
    since they append to it). The log is played first with ``skywarden run`` (a few minutes)
    unless ``--night`` names one; it must have been played, or last appended to, by the same
    code, or its stage snapshot does not apply and the commands replay the night.

hyperfine is not needed (nor used). Examples:

  python bench/startup.py                                   # this checkout, a new night
  python bench/startup.py --night night.sqlite --repeat 7
  python bench/startup.py --compare ../main --compare-night main-night.sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

ROOT = Path(__file__).resolve().parents[1]

# run inside the measured checkout: the command paths of its Typer app
WALK = """
import json, typer, skywarden.cli
def paths(cmd, path):
    yield path
    if hasattr(cmd, "list_commands"):
        for name in cmd.list_commands(None):
            yield from paths(cmd.get_command(None, name), [*path, name])
print(json.dumps(list(paths(typer.main.get_command(skywarden.cli.app), []))))
"""

# run inside the measured checkout: parse the arguments as the command line does, then, where
# the command's function would start, print the wall clock and the process's CPU time and stop
PROBE = """
import json, os, sys, time
import typer
import skywarden.cli
args = json.loads(sys.argv[1])
root = typer.main.get_command(skywarden.cli.app)
cmd = root
for name in args:
    if not hasattr(cmd, "get_command"):
        break
    sub = cmd.get_command(None, name)
    if sub is None:
        break
    cmd = sub
def entered(*a, **k):
    print(json.dumps({"t": time.time(), "cpu": time.process_time()}), flush=True)
    os._exit(0)
cmd.callback = entered
root.main(args=args, prog_name="skywarden")
"""


class Job(NamedTuple):
    """One measurement: a command's --help, a probe of its start-up, or a command on the night."""

    kind: Literal["help", "probe", "night"]
    args: list[str]
    appends: bool = False  # (night) it appends to the log: run it on a fresh copy


@dataclass
class Figures:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def cells(self) -> list[str]:
        if not self.wall:
            return ["", "", ""]
        return [f"{statistics.median(self.wall):.3f}", f"{max(self.wall):.3f}", f"{statistics.median(self.cpu):.3f}"]


def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(root), COLUMNS="120", TERM="dumb")
    env.pop("PYTHONSTARTUP", None)
    return env


def _timed(cmd: Sequence[str], root: Path, ok: Sequence[int] = (0,)) -> tuple[float, float]:
    """Wall and CPU seconds of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=root, env=_env(root), capture_output=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {res.returncode}:\n{res.stderr.decode()[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _probe(args: Sequence[str], root: Path) -> tuple[float, float]:
    """Seconds from starting the process to entering the command's function: wall and CPU."""
    t0 = time.time()
    res = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args))], cwd=root, env=_env(root), capture_output=True, check=False
    )
    lines = res.stdout.decode().strip().splitlines()
    if res.returncode != 0 or not lines:
        raise SystemExit(f"probe of {' '.join(args)} failed:\n{res.stderr.decode()[-2000:]}")
    got = json.loads(lines[-1])
    return got["t"] - t0, got["cpu"]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "skywarden.cli", *args]


def _play_night(root: Path, folder: Path) -> Path:
    log = folder / "night.sqlite"
    print(f"playing the default night into {log} with {root} (skywarden run) ...", flush=True)
    wall, cpu = _timed(_cli("run", "--log", str(log)), root)
    print(f"  {wall:.0f} s wall, {cpu:.0f} s CPU", flush=True)
    return log


def _copy(log: Path, folder: Path) -> Path:
    """A fresh copy of the log and its stage snapshot, for a command that appends."""
    dst = folder / "copy.sqlite"
    for suffix in ("", "-wal", "-shm", ".stages"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
        if Path(str(log) + suffix).exists():
            shutil.copy(str(log) + suffix, str(dst) + suffix)
    return dst


def _machine() -> str:
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        model = f"{fields.get('Model name', '').strip()}, family {fields.get('CPU family', '').strip()} model {fields.get('Model', '').strip()}"
    except OSError:
        pass
    return f"{model}; {os.cpu_count()} CPUs; Python {platform.python_version()}; load average {os.getloadavg()[0]:.1f}"


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5, help="runs of each command (default 5)")
    ap.add_argument("--night", type=Path, help="a night's log played by this checkout (default: play one)")
    ap.add_argument("--compare", type=Path, help="another checkout, measured in turn with this one")
    ap.add_argument("--compare-night", type=Path, help="a night's log played by the other checkout")
    ap.add_argument("--skip-help", action="store_true", help="not the --help of every command")
    ap.add_argument("--skip-night", action="store_true", help="not the commands on a night's log")
    opts = ap.parse_args(argv)

    roots = [ROOT] + ([opts.compare.resolve()] if opts.compare else [])
    tmp = Path(tempfile.mkdtemp(prefix="skywarden-startup-"))
    print(_machine(), flush=True)

    # ---- what each measurement runs, per checkout (None: that checkout has no such command)
    jobs: dict[str, list[Job | None]] = {}
    if not opts.skip_help:
        for root in roots:
            out = subprocess.run([sys.executable, "-c", WALK], cwd=root, env=_env(root), capture_output=True, check=True)
            for path in json.loads(out.stdout):
                label = f"skywarden {' '.join(path)} --help".replace("  ", " ")
                jobs.setdefault(label, [None] * len(roots))[roots.index(root)] = Job("help", path)
    recording = tmp / "detections.csv"
    recording.write_text("t,sensor_id,x,y\n0,r1,0,0\n")
    probes = [
        ["track", "--input", str(recording), "--output", str(tmp / "tracks.csv")],
        ["decode", "adsb", str(recording), "--output", str(tmp / "adsb.jsonl")],
        ["run", "--log", str(tmp / "probe.sqlite")],
        ["statement", "list", "--log", str(tmp / "probe.sqlite")],
        ["incident", "show", "1", "--log", str(tmp / "probe.sqlite")],
        ["serve", "--exercise"],
    ]
    for args in probes:
        jobs[f"start-up: {' '.join(a for a in args if not a.startswith('/'))}"] = [Job("probe", args)] * len(roots)
    nights: list[Path] = []
    if not opts.skip_night:
        given = [opts.night, opts.compare_night]
        for i, root in enumerate(roots):
            folder = tmp / f"night{i}"
            folder.mkdir()
            nights.append(given[i].resolve() if given[i] else _play_night(root, folder))
        # (label, args after the log, appends to the log)
        on_night = [
            ("statement list", ["statement", "list"], False),
            ("claim list", ["claim", "list"], False),
            ("incident list", ["incident", "list"], False),
            ("incident show kill:31", ["incident", "show", "kill:31"], False),
            ("statement approve ST-0001", ["statement", "approve", "ST-0001", "--officer", "duty-1"], True),
            ("claim add", ["claim", "add", "--source", "Channel X", "--what", "kill", "--count", "3", "--text", "3 down"], True),
        ]
        for label, args, appends in on_night:
            jobs[f"night: {label}"] = [Job("night", args, appends)] * len(roots)

    figures: dict[str, list[Figures]] = {label: [Figures() for _ in roots] for label in jobs}
    for rep in range(opts.repeat):
        print(f"round {rep + 1} of {opts.repeat}", flush=True)
        for label, per_root in jobs.items():
            for i, root in enumerate(roots):
                job = per_root[i]
                if job is None:
                    continue
                if job.kind == "help":
                    wall, cpu = _timed(_cli(*job.args, "--help"), root)
                elif job.kind == "probe":
                    wall, cpu = _probe(job.args, root)
                else:  # exit 1 is a refusal the stages logged (an approval of a published statement)
                    log = _copy(nights[i], tmp / f"night{i}") if job.appends else nights[i]
                    wall, cpu = _timed(_cli(*job.args, "--log", str(log)), root, ok=(0, 1))
                figures[label][i].wall.append(wall)
                figures[label][i].cpu.append(cpu)

    head = ["command", "wall median s", "wall max s", "CPU median s"]
    if len(roots) > 1:
        head += [f"other: {h}" for h in head[1:]]
    widths = [max(len(head[0]), *(len(k) for k in figures))] + [len(h) for h in head[1:]]
    print()
    print(f"this: {ROOT}" + (f"   other: {roots[1]}" if len(roots) > 1 else "") + f"; {opts.repeat} runs each")
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    for label, per in figures.items():
        cells = [label] + [c for f in per for c in f.cells()]
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(cells, widths, strict=True))))
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
