"""The per-stage CPU benchmark: it groups a log into ticks as the runtime wrote them and times
the parts it is asked for."""

from __future__ import annotations

from datetime import timedelta

from bench.stages import main, ticks_of
from skywarden.events import Tick
from skywarden.log import open_log
from skywarden.play import play_night


def test_ticks_are_the_runtime_batches(tmp_path, scenario):
    log = open_log(tmp_path / "n.sqlite")
    play_night(scenario, log, until=scenario.start + timedelta(seconds=90), workers=1)
    log.close()
    ticks = ticks_of(tmp_path / "n.sqlite")
    assert len(ticks) == 90
    for k, (now, events) in enumerate(ticks):
        assert now == scenario.start + timedelta(seconds=k + 1)
        tick_at = [i for i, e in enumerate(events) if isinstance(e, Tick)]
        assert len(tick_at) == 1  # one Tick each: its inputs before it, what was derived after
        assert all(type(e).INPUT for e in events[: tick_at[0]])
        assert not any(type(e).INPUT for e in events[tick_at[0] + 1 :])


def test_the_table_has_a_row_per_part_asked_for():
    table = main(["--until", "00:02", "--stages", "kills,threat", "--repeat", "2"])
    parts = list(table.columns[0].cells)
    assert parts == ["(simulator)", "kills", "threat"]
    for least, median in zip(table.columns[1].cells, table.columns[2].cells, strict=True):
        assert 0.0 <= float(least) <= float(median)
