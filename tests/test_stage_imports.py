"""A command about one claim, statement or incident loads only what its work needs: restoring the
stages from a night's snapshot and running one tick without plots or kills (``claim add``,
``statement approve``) imports no scipy, numba, networkx or matplotlib, and reading the
incidents imports not even numpy. Each is run in a fresh interpreter (this test process has
imported everything already), and the injected tick is still the one a replay gives. (How fast
the commands are, is measured by ``bench/startup.py``, not here.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skywarden.log import open_log
from skywarden.play import play_night
from skywarden.scenario import LoadedScenario

ROOT = Path(__file__).resolve().parents[1]
UNTIL = "00:15"  # drones in the air: the tracker holds live tracks, the picture has rows
HEAVY = ("scipy", "numba", "llvmlite", "networkx", "matplotlib")

# run in a fresh interpreter: the command, with a replay refused where it runs stages (they must
# come from the snapshot: a replay would build them, and import everything), then the modules
# it loaded
RUN = """
import json, sys
from typer.testing import CliRunner
from skywarden.cli import app

if sys.argv[2] == "stages":
    import skywarden.runtime

    def no_replay(*a, **k):
        raise AssertionError("the stages were replayed, not restored from the snapshot")

    skywarden.runtime.replay = no_replay
res = CliRunner().invoke(app, json.loads(sys.argv[1]))
print(json.dumps({"code": res.exit_code, "output": res.output, "error": repr(res.exception),
                  "modules": sorted(sys.modules)}))
"""


def _fresh(args: list[str], stages: bool = True) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(args), "stages" if stages else "log"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=300
    )
    got: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return got


def _loaded(got: dict[str, object], roots: tuple[str, ...]) -> list[str]:
    modules = got["modules"]
    assert isinstance(modules, list)
    return [m for m in modules if m.split(".")[0] in roots]


def _hashes(db: Path) -> list[bytes]:
    log = open_log(db)
    try:
        return [r.hash for r in log.read()]
    finally:
        log.close()


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory, scenario: LoadedScenario) -> Path:
    db = tmp_path_factory.mktemp("played") / "night.sqlite"
    log = open_log(db)
    try:
        play_night(scenario, log, until=scenario.at(UNTIL), workers=1)
    finally:
        log.close()
    assert db.with_name("night.sqlite.stages").is_file()
    return db


def _copy(played: Path, folder: Path, with_snapshot: bool) -> Path:
    folder.mkdir()
    shutil.copy(played, folder / "night.sqlite")
    if with_snapshot:
        shutil.copy(played.with_name("night.sqlite.stages"), folder / "night.sqlite.stages")
    return folder / "night.sqlite"


CLAIM = ["claim", "add", "--source", "Channel X", "--what", "kill", "--count", "3", "--text", "3 down"]


def test_a_claim_added_from_the_snapshot_loads_no_heavy_library_and_is_the_replayed_tick(
    played: Path, tmp_path: Path
) -> None:
    fast = _copy(played, tmp_path / "fast", with_snapshot=True)
    got = _fresh([*CLAIM, "--log", str(fast)])
    assert got["code"] == 0, got
    assert "recorded CL-0001" in str(got["output"])
    assert _loaded(got, HEAVY) == []
    # the same claim in this process on a copy without the snapshot: the stages replayed
    from typer.testing import CliRunner

    from skywarden.cli import app

    slow = _copy(played, tmp_path / "slow", with_snapshot=False)
    res = CliRunner().invoke(app, [*CLAIM, "--log", str(slow)])
    assert res.exit_code == 0, res.output
    assert res.output == got["output"]
    assert _hashes(fast) == _hashes(slow)  # the same records, down to the chain's hashes


def test_a_refused_approval_from_the_snapshot_loads_no_heavy_library(played: Path, tmp_path: Path) -> None:
    db = _copy(played, tmp_path / "approve", with_snapshot=True)
    got = _fresh(["statement", "approve", "ST-9999", "--officer", "duty-1", "--log", str(db)])
    assert got["code"] == 1, got  # no such statement: refused by the stages, in the log
    assert "refused" in str(got["output"])
    assert _loaded(got, HEAVY) == []


def test_the_incidents_are_read_without_numpy(played: Path) -> None:
    got = _fresh(["incident", "list", "--log", str(played)], stages=False)
    assert got["code"] == 0, got
    assert "Incidents (" in str(got["output"])
    assert _loaded(got, (*HEAVY, "numpy", "shapely")) == []
