"""SAPIENT: messages built with the published v2.0 protobuf classes, length-prefixed as on the
wire; detections by location and by range/bearing, status, class hints, and hostile framing."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from skywarden import events as E
from skywarden.ingest.sapient import MAX_MESSAGE, SapientDecoder, class_hint
from skywarden.ingest.sensors import load_sensors

sm = pytest.importorskip("sapient_msg.bsi_flex_335_v2_0.sapient_message_pb2")
NODE = "0a5e2d3c-1111-4222-8333-444455556666"
T = datetime(2025, 3, 11, 0, 10, tzinfo=UTC)


def message(node: str = NODE, t: datetime | None = T):
    m = sm.SapientMessage()
    m.node_id = node
    if t is not None:
        m.timestamp.FromDatetime(t)
    return m


def frame(m) -> bytes:
    raw = m.SerializeToString()
    return len(raw).to_bytes(4, "little") + raw


def registration() -> bytes:
    m = message()
    d = m.registration.node_definition.add()
    d.node_type = 8  # passive RF
    m.registration.name = "RF detector"
    return frame(m)


def status(system: int = 1, lat: float = 55.7, lon: float = 37.6) -> bytes:
    m = message()
    m.status_report.report_id = "01HZX"
    m.status_report.system = system
    loc = m.status_report.node_location
    loc.x, loc.y, loc.z, loc.coordinate_system, loc.datum = lon, lat, 150.0, 1, 1
    return frame(m)


def detection_at(lat: float, lon: float, alt: float, cls: str = "UAV rotary wing", err_deg: float | None = 0.0005) -> bytes:
    m = message()
    d = m.detection_report
    d.report_id, d.object_id = "01HZY", "01HZZ"
    d.location.x, d.location.y, d.location.z = lon, lat, alt
    d.location.coordinate_system, d.location.datum = 1, 1
    if err_deg is not None:
        d.location.x_error = d.location.y_error = err_deg
    c = d.classification.add()
    c.type, c.confidence = cls, 0.9
    other = d.classification.add()
    other.type, other.confidence = "Bird", 0.1
    return frame(m)


def detection_rb(az: float, rng_km: float, el: float | None = None) -> bytes:
    m = message()
    d = m.detection_report
    d.report_id, d.object_id = "01HZY", "01HZZ"
    rb = d.range_bearing
    rb.azimuth, rb.range, rb.coordinate_system, rb.datum = az, rng_km, 3, 1
    rb.azimuth_error, rb.range_error = 0.5, 0.01
    if el is not None:
        rb.elevation = el
    d.id = "G-ABCD"
    return frame(m)


def run(dec: SapientDecoder, data: bytes, chunk: int | None = None) -> list[E.InputEvent]:
    out: list[E.InputEvent] = []
    step = chunk or max(1, len(data))
    for i in range(0, len(data), step):
        out.extend(dec.feed(data[i : i + step]))
    return out + dec.close()


def test_a_node_registers_reports_status_and_detections():
    data = registration() + status() + detection_at(55.71, 37.62, 120.0) + detection_rb(90.0, 2.0, el=3.0)
    dec = SapientDecoder()
    out = run(dec, data)
    assert dec.counts.n_rejected == 0 and dec.counts.ignored["registration"] == 1
    st, pos, polar = out
    assert st == E.SensorStatus(t=T, sensor_id="sapient-0a5e2d3c", status="up")
    assert isinstance(pos, E.PositionPlots) and pos.sensor_kind == "rf" and pos.t == T
    assert (pos.lat, pos.lon, pos.alt) == ([55.71], [37.62], [120.0])
    assert pos.sigma_m == pytest.approx([0.0005 * 111_320], rel=1e-6) and pos.class_hint == ["drone"]
    # range/bearing from the location the status report gave
    assert isinstance(polar, E.PolarPlots)
    assert (polar.sensor_lat, polar.sensor_lon, polar.sensor_alt) == (55.7, 37.6, 150.0)
    assert polar.range_m == [2000.0] and polar.azimuth_deg == [90.0] and polar.elevation_deg == [3.0]
    assert polar.sigma_range_m == pytest.approx(10.0) and polar.identity == ["G-ABCD"]
    assert run(SapientDecoder(), data, chunk=1) == out


def test_sensors_file_names_and_places_the_node(tmp_path: Path):
    f = tmp_path / "s.toml"
    f.write_text(f'[[sapient]]\nnode_id = "{NODE}"\nlat = 55.0\nlon = 37.0\nalt = 10.0\nid = "rf-1"\nkind = "rf"\n')
    out = run(SapientDecoder(load_sensors(f)), detection_rb(45.0, 1.0))
    (ev,) = out
    assert isinstance(ev, E.PolarPlots) and ev.sensor_id == "rf-1" and ev.sensor_kind == "rf"
    assert (ev.sensor_lat, ev.sensor_alt) == (55.0, 10.0) and ev.elevation_deg == [0.0] and ev.sigma_elevation_deg == 10.0


def test_range_bearing_without_a_known_node_location_is_rejected():
    dec = SapientDecoder()
    (ev,) = run(dec, detection_rb(45.0, 1.0))
    assert isinstance(ev, E.ReportRejected) and dec.counts.rejected["node location"] == 1


@pytest.mark.parametrize("system,expected", [(1, "up"), (2, "degraded"), (3, "down"), (5, "down")])
def test_status_maps_the_system_state(system, expected):
    (ev,) = run(SapientDecoder(), status(system))
    assert isinstance(ev, E.SensorStatus) and ev.status == expected


def test_class_hints():
    assert class_hint("UAV Rotary Wing") == "drone" and class_hint("Quadcopter") == "drone"
    assert class_hint("bird") == "bird" and class_hint("Fixed wing aircraft") == "manned_aircraft"
    assert class_hint("Human") == "unknown"


def test_bad_messages_are_rejected_and_the_stream_goes_on():
    garbage = (5).to_bytes(4, "little") + b"\xff\xff\xff\xff\xff"
    no_node = frame(message(node=""))
    no_time = frame(sm.SapientMessage(node_id=NODE, status_report=sm.SapientMessage().status_report))
    off_earth = detection_at(95.0, 37.0, 10.0)
    dec = SapientDecoder()
    out = run(dec, garbage + no_node + no_time + off_earth + status() + b"\x10\x00")
    assert dec.counts.rejected == {"protobuf": 1, "no node id": 1, "no time": 1, "location": 1, "truncated": 1}
    assert sum(isinstance(e, E.SensorStatus) for e in out) == 1
    # live, the listener's clock dates a message without a timestamp
    live = SapientDecoder()
    m = message(t=None)
    m.status_report.system = 1
    (ev,) = live.feed(frame(m), now=T)
    assert isinstance(ev, E.SensorStatus) and ev.t == T


def test_a_2gb_length_prefix_is_refused_without_allocating():
    dec = SapientDecoder()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        out = dec.feed((2**31).to_bytes(4, "little"))
        chunk = b"\0" * 65536
        for _ in range(16):  # the refused message's bytes pass through without being kept
            out += dec.feed(chunk)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # far below the 2 GB announced (the chunks themselves are 64 KiB)
    assert len(out) == 1 and isinstance(out[0], E.ReportRejected) and "2147483648" in out[0].reason
    assert dec.counts.rejected["too long"] == 1 and len(dec._buf) == 0
    assert dec._skip == 2**31 - 16 * 65536
    # the limit is configurable; a message at the limit is read
    big = SapientDecoder(max_message=MAX_MESSAGE)
    assert big.feed(status()) and big.counts.n_rejected == 0
