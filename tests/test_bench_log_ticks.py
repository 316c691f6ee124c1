"""The log-grouping benchmark: the same log whatever the grouping, a row per grouping."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bench.log_ticks import append_grouped, main
from bench.stages import ticks_of
from skywarden.log import open_log
from skywarden.log.sqlite import SqliteLog
from skywarden.play import play_night


@pytest.fixture
def small_log(tmp_path, scenario):
    log = open_log(tmp_path / "n.sqlite")
    play_night(scenario, log, until=scenario.start + timedelta(seconds=60), workers=1)
    log.close()
    return tmp_path / "n.sqlite"


def test_grouping_writes_the_log_it_was_given(small_log, tmp_path):
    ticks = [events for _, events in ticks_of(small_log)]
    original = SqliteLog(small_log)
    want = [r.hash for r in original.read()]
    original.close()
    for group in (1, 7, 100):
        _, _, head = append_grouped(ticks, group, tmp_path / f"g{group}.sqlite")
        copy = SqliteLog(tmp_path / f"g{group}.sqlite")
        assert [r.hash for r in copy.read()] == want and head == want[-1]
        copy.close()


def test_a_row_per_grouping(small_log):
    table = main(["--log", str(small_log), "--group", "1,8", "--repeat", "2"])
    assert list(table.columns[0].cells) == ["1", "8"]
    for walls in table.columns[1].cells:
        assert len(walls.split()) == 2 and all(float(w) > 0 for w in walls.split())


def test_bad_groupings_are_refused(small_log):
    with pytest.raises(SystemExit):
        main(["--log", str(small_log), "--group", "0"])
