"""The night benchmark's log part: the steps of an append, each timed alone."""

from __future__ import annotations

from bench.night import bench_log_parts


def test_each_step_of_an_append_is_timed():
    table = bench_log_parts(2_000)
    steps = list(table.columns[0].cells)
    assert steps == [
        "encode (canonical JSON)",
        "time column, formatted again",
        "time column, read off the JSON",
        "chain hash (SHA-256)",
        "SQLite insert and commit",
        "the same, no WAL checkpoints",
    ]
    assert all(float(us) > 0 for us in table.columns[1].cells)
