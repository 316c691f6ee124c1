"""The command line starts at once: importing ``skywarden.cli`` and asking any command for
``--help`` loads no stage and none of the heavy libraries the stages use. (How fast it is, is
measured by ``bench/startup.py``, not here.)"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from skywarden.cli import app

ROOT = Path(__file__).resolve().parents[1]

# libraries the stages use, and the stage packages themselves
HEAVY = ("numpy", "scipy", "numba", "matplotlib", "shapely", "pyproj", "networkx", "fastapi", "uvicorn", "argon2", "pyarrow", "pydantic")
STAGES = (
    "skywarden.tracking", "skywarden.assess", "skywarden.response", "skywarden.disclosure",
    "skywarden.ingest", "skywarden.service", "skywarden.report", "skywarden.scenario",
    "skywarden.runtime", "skywarden.pipeline", "skywarden.log", "skywarden.geo",
)  # fmt: skip

# run in a fresh interpreter: this test process has imported everything already
WALK = """
import json, sys
import typer
from typer.testing import CliRunner
import skywarden.cli

def paths(cmd, path):
    yield path
    if hasattr(cmd, "list_commands"):
        for name in cmd.list_commands(None):
            yield from paths(cmd.get_command(None, name), [*path, name])

after_import = sorted(sys.modules)
helped = {}
if sys.argv[1] == "help":
    for p in paths(typer.main.get_command(skywarden.cli.app), []):
        res = CliRunner().invoke(skywarden.cli.app, [*p, "--help"])
        helped[" ".join(p)] = [res.exit_code, res.output]
print(json.dumps({"modules": after_import, "after_help": sorted(sys.modules), "helped": helped}))
"""


def _fresh(mode: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", WALK, mode], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def _heavy(modules: object) -> list[str]:
    assert isinstance(modules, list)
    return [m for m in modules if m.split(".")[0] in HEAVY or any(m == s or m.startswith(s + ".") for s in STAGES)]


def test_importing_the_cli_loads_no_stage_and_no_heavy_library() -> None:
    got = _fresh("import")
    assert _heavy(got["modules"]) == []
    assert "skywarden.cli" in got["modules"] and "skywarden.commands.tracking" in got["modules"]


def test_every_commands_help_runs_and_loads_nothing_heavy() -> None:
    got = _fresh("help")
    helped = got["helped"]
    assert isinstance(helped, dict)
    names = set(helped)
    # the stages' commands and the core ones are all there, sub-commands included
    for cmd in ("", "demo", "run", "replay", "report", "track", "decode", "serve", "log verify", "log tail",
                "scenario new", "scenario check", "incident list", "incident show", "claim add", "claim list",
                "statement list", "statement approve", "statement reject", "statement edit", "users add", "users list"):  # fmt: skip
        assert cmd in names, cmd
    for cmd, (code, output) in helped.items():
        assert code == 0, (cmd, output)
        assert "Usage:" in output and "--help" in output, cmd
    assert _heavy(got["after_help"]) == []


def test_every_commands_help_here() -> None:
    """The same walk in this process (where the stages are loaded), with each command's own text."""
    root = typer.main.get_command(app)
    runner = CliRunner()
    seen = 0

    def walk(cmd: object, path: list[str]) -> None:
        nonlocal seen
        res = runner.invoke(app, [*path, "--help"])
        assert res.exit_code == 0, (path, res.output)
        help_text = getattr(cmd, "help", None) or ""
        if help_text:  # its first line, as wrapped to the terminal
            assert " ".join(help_text.strip().splitlines()[0].split()) in " ".join(res.output.split()), path
        seen += 1
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(None):
                walk(cmd.get_command(None, name), [*path, name])

    walk(root, [])
    assert seen >= 28


def test_track_shows_the_trackers_own_defaults() -> None:
    """``skywarden track`` writes the tracker's defaults out (so as not to import it at start-up):
    they must be ``TrackerConfig``'s."""
    from skywarden.commands.tracking import TrackDefaults
    from skywarden.tracking.tracker import TrackerConfig

    cfg = TrackerConfig()
    for f in dataclasses.fields(TrackDefaults):
        assert getattr(TrackDefaults(), f.name) == getattr(cfg, f.name), f.name
