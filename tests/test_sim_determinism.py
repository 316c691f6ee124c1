"""The simulator is a deterministic function of (scenario, seed, settings), whatever the polls."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import msgspec
import numpy as np
import pytest

import skywarden.scenario.sim as sim_pkg
from skywarden.events import decode, encode
from skywarden.scenario.sim import Simulator, stream


def _bytes(events):
    return [encode(e) for e in events]


def test_public_api_is_pinned():
    assert sorted(sim_pkg.__all__) == [
        "KillReportTruth",
        "SimConfig",
        "Simulator",
        "Truth",
        "TruthKill",
        "TruthObject",
        "TruthState",
        "stream",
    ]


def test_same_seed_same_events_different_seed_different(scenario):
    until = scenario.at("00:25")
    a = _bytes(Simulator(scenario).run(until=until))
    b = _bytes(Simulator(scenario).run(until=until))
    assert a == b and len(a) > 1_500
    c = _bytes(Simulator(scenario, seed=scenario.spec.night.seed + 1).run(until=until))
    assert c != a


def test_poll_windows_lose_nothing_and_duplicate_nothing(scenario):
    until = scenario.at("00:40")
    ref = Simulator(scenario).run(step_s=1.0, until=until)
    sim = Simulator(scenario)
    got = []
    rng = np.random.default_rng(7)
    t = scenario.start
    while t < until:
        # irregular windows, from a microsecond to two minutes, some ending exactly on a scan
        t = min(until, t + timedelta(microseconds=int(rng.integers(1, 120_000_000))))
        batch = sim.poll(t)
        assert all(a.t <= b.t for a, b in zip(batch, batch[1:], strict=False))  # sorted
        assert all(sim.start < e.t <= t for e in batch)
        got.extend(batch)
        assert sim.poll(t) == []  # the same instant again: nothing new
    assert _bytes(got) == _bytes(ref)
    assert len({(e.t, encode(e)) for e in got}) == len(got)


def test_the_sensors_polled_ahead_merge_into_the_same_inputs(scenario):
    """A two-process night polls the sensors and the command far ahead of the crews and officers
    (they need no reactions); merged by their keys, tick by tick, the inputs are poll()'s."""
    ticks = [scenario.start + timedelta(seconds=k) for k in range(1, 1201)]
    ref = Simulator(scenario)
    want = [ref.poll(t) for t in ticks]
    sim = Simulator(scenario)
    ahead = [sim.poll_independent(t) for t in ticks[:40]]
    got = []
    for k, t in enumerate(ticks):
        if k + 40 < len(ticks):
            ahead.append(sim.poll_independent(ticks[k + 40]))
        merged = sorted(ahead.pop(0) + sim.poll_reactive(t), key=lambda kv: kv[0])
        got.append([ev for _, ev in merged])
    assert [_bytes(x) for x in got] == [_bytes(x) for x in want]
    assert sum(map(len, got)) > 1_000


def test_adding_a_flock_does_not_reshuffle_the_drones(scenario):
    flock = msgspec.structs.replace(scenario.spec.birds[0], id="flock-extra", lat=55.80)
    more = dataclasses.replace(
        scenario, spec=msgspec.structs.replace(scenario.spec, birds=[*scenario.spec.birds, flock])
    )
    a, b = Simulator(scenario), Simulator(more)
    assert len(b.truth.ids(cls="bird")) == len(a.truth.ids(cls="bird")) + flock.count
    for oid in a.truth.ids(cls="drone"):
        assert np.array_equal(a.truth.trajectory(oid), b.truth.trajectory(oid))
    # and so are the kills and the command's reports of the night
    assert a.truth.kills == b.truth.kills and a.truth.reports == b.truth.reports


def test_events_survive_the_wire(scenario):
    """What the simulator makes is what the log stores: encode -> decode gives it back."""
    events = Simulator(scenario).run(until=scenario.at("00:35"))
    kinds = {type(e).__name__ for e in events}
    assert {"PolarPlots", "PositionPlots", "AdsbReport", "RemoteIdReport", "KillReported"} <= kinds
    for e in events[::7]:
        assert decode(encode(e)) == e
        assert e.t.tzinfo is not None and e.t.utcoffset() == timedelta(0)


def test_streams_are_keyed_not_ordered():
    x = stream(1, "radar", "a").random(3)
    assert np.array_equal(x, stream(1, "radar", "a").random(3))
    assert not np.array_equal(x, stream(1, "radar", "b").random(3))
    assert not np.array_equal(x, stream(2, "radar", "a").random(3))


def test_naive_time_is_refused(scenario):
    sim = Simulator(scenario)
    with pytest.raises(ValueError, match="tz-aware"):
        sim.poll(scenario.start.replace(tzinfo=None))


_DIGEST = """
import hashlib
from skywarden.events import encode
from skywarden.scenario import load_scenario
from skywarden.scenario.sim import Simulator
sc = load_scenario()
h = hashlib.sha256()
for e in Simulator(sc).run(until=sc.at("00:25")):
    h.update(encode(e))
print(h.hexdigest())
"""


def test_same_events_in_another_process_with_another_hash_seed():
    """String hashing is salted per process; nothing the simulator emits may depend on it."""
    out = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        r = subprocess.run(
            [sys.executable, "-c", _DIGEST], env=env, capture_output=True, text=True, check=True
        )
        out.append(r.stdout.strip())
    assert out[0] == out[1] and len(out[0]) == 64
