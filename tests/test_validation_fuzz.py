"""Hypothesis over every input edge (tests/fuzz_edges.py): whatever the bytes, nothing escapes,
what is refused is a rejection with a reason, and nothing made fails the log's round trip; and
whatever input events reach the runtime, every record the log stores decodes to itself.

Bounded: a few seconds an edge. bench/fuzz.py runs the same edges at 10^5-10^6 inputs."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skywarden import events as E
from skywarden.ingest import ReportChecker
from skywarden.ingest.validate import Window, check_input, round_trips
from skywarden.log.memory import MemoryLog
from skywarden.runtime import Runtime
from skywarden.tracking import TrackingStage
from tests.fuzz_edges import START, cached_frames, edges, mutate

EDGES = edges()
SLOW = {"scenario", "policy", "sensors", "track-csv"}


@pytest.mark.parametrize("name", list(EDGES))
def test_every_edge_takes_any_mutation_of_its_seeds(name: str):
    edge = EDGES[name]
    seeds = edge.seeds()

    @settings(max_examples=30 if name in SLOW else 80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 8), which=st.integers(0, 100))
    def run(seed: int, steps: int, which: int) -> None:
        rng = random.Random(seed)
        data = mutate(seeds[which % len(seeds)], rng, steps, seeds)
        out = edge.run(data)  # an exception here is the failure
        assert out.undecodable == 0
        assert not out.internal, out.internal
        assert all(out.reasons), "every rejection says why"

    with cached_frames():
        run()
        # and the seeds themselves are accepted: the mutations start from real input
        assert all(edge.run(s).accepted for s in seeds), name


HOSTILE_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, 1e-200, 55.7, 37.6, 150.0, 20.0]),
)
NIGHT = Window.night(START, START + timedelta(hours=4))
TIMES = st.one_of(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(START.tzinfo)),  # noqa: DTZ001 (bounds of a tz-aware strategy)
    st.integers(0, 4 * 3600).map(lambda s: START + timedelta(seconds=s)),
)
SHORT = st.text(max_size=12)


def _lists(n: int) -> st.SearchStrategy[list[float]]:
    return st.lists(HOSTILE_FLOATS, min_size=max(0, n - 1), max_size=n + 1)


@st.composite
def input_events(draw: st.DrawFn) -> E.InputEvent:
    """Input events of every kind the edges take, with any numbers (NaN, infinities, 1e308, the
    smallest subnormal), lists of unequal length and any times."""
    t = draw(TIMES)
    n = draw(st.integers(0, 4))
    f = HOSTILE_FLOATS
    kind = draw(st.sampled_from(["polar", "position", "adsb", "rid", "kill", "crew", "claim", "status"]))
    if kind == "polar":
        return E.PolarPlots(
            t=t, sensor_id=draw(SHORT), sensor_lat=draw(f), sensor_lon=draw(f), sensor_alt=draw(f),
            range_m=draw(_lists(n)), azimuth_deg=draw(_lists(n)), elevation_deg=draw(_lists(n)),
            sigma_range_m=draw(f), sigma_azimuth_deg=draw(f), sigma_elevation_deg=draw(f),
            rcs_dbsm=draw(st.none() | _lists(n)), radial_speed_ms=draw(st.none() | _lists(n)),
        )  # fmt: skip
    if kind == "position":
        return E.PositionPlots(t=t, sensor_id=draw(SHORT), lat=draw(_lists(n)), lon=draw(_lists(n)), alt=draw(_lists(n)), sigma_m=draw(_lists(n)))
    if kind == "adsb":
        return E.AdsbReport(t=t, icao24=draw(SHORT), callsign=draw(SHORT), lat=draw(f), lon=draw(f), alt=draw(f), ve=draw(st.none() | f))
    if kind == "rid":
        return E.RemoteIdReport(t=t, uas_id=draw(SHORT), lat=draw(f), lon=draw(f), alt=draw(f), vu=draw(st.none() | f))
    if kind == "kill":
        return E.KillReported(t=t, report_id=draw(SHORT), lat=draw(f), lon=draw(f), alt=draw(st.none() | f))
    if kind == "crew":
        return E.CrewReported(t=t, crew_id=draw(SHORT), site_id=draw(SHORT), status="en_route", eta_s=draw(st.none() | f))
    if kind == "claim":
        return E.ClaimRecorded(t=t, claim_id=draw(SHORT), source=draw(SHORT), what="kill", lat=draw(st.none() | f), lon=draw(st.none() | f), radius_m=draw(st.none() | f))
    return E.SensorStatus(t=t, sensor_id=draw(SHORT), status="up", detail=draw(st.text(max_size=40)))


@settings(max_examples=120, deadline=None)
@given(evs=st.lists(input_events(), max_size=6))
def test_json_lines_of_any_event_are_accepted_only_within_bounds(evs: list[E.InputEvent]):
    checker = ReportChecker(source="fuzz", window=NIGHT, reorder_tolerance_s=1e9)
    for ev in evs:
        got = checker.check(E.encode(ev))  # NaN was written as null: such a line must be refused
        assert round_trips(got) == ""
        if not isinstance(got, E.ReportRejected):
            check_input(got, NIGHT)  # what passed holds every bound
            assert all(math.isfinite(x) for x in _floats(got))


def _floats(ev: E.Event) -> list[float]:
    out: list[float] = []
    for name in ev.__struct_fields__:
        v = getattr(ev, name)
        if isinstance(v, float):
            out.append(v)
        elif isinstance(v, list):
            out += [x for x in v if isinstance(x, float)]
    return out


class _Listed:
    """A source that releases a fixed list of inputs at their tick (any times: clamped)."""

    def __init__(self, batches: list[list[E.InputEvent]]) -> None:
        self.batches = batches

    def poll(self, now: datetime) -> list[E.InputEvent]:
        return self.batches.pop(0) if self.batches else []

    def observe(self, events: Sequence[E.Event]) -> None:
        pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(st.lists(input_events(), max_size=4), min_size=1, max_size=4))
def test_every_record_the_runtime_stores_decodes_to_itself(scenario, batches: list[list[E.InputEvent]]):
    """The runtime's guard, whatever reaches it unchecked (a source's bug): the stages run on,
    and each stored record comes back from the log equal to what was appended."""
    log = MemoryLog()
    rt = Runtime(log=log, stages=[TrackingStage(scenario)], source=_Listed([list(b) for b in batches]))
    appended: list[E.Event] = []
    for k in range(len(batches) + 1):
        res = rt.tick(START + timedelta(seconds=k + 1))
        appended += [*res.inputs, *res.derived]
    stored = [r.event() for r in log.read()]
    assert stored == appended
    for ev in stored:
        assert round_trips(ev) == ""
    originals = [ev for b in batches for ev in b]
    rejected = [ev for ev in stored if isinstance(ev, E.ReportRejected)]
    assert len(rejected) == sum(1 for ev in originals if round_trips(ev))
