"""Remote ID (ASTM F3411): message packs and single messages (encoded here from the standard's
layout, as the opendroneid reference library packs them), JSON per message, times and gaps."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from skywarden import events as E
from skywarden.ingest.remoteid import RemoteIdDecoder
from tests.ingest_frames import rid_basic_id, rid_location, rid_operator_id, rid_pack, rid_system

T = datetime(2025, 3, 11, 0, 59, 50, tzinfo=UTC)


def run(dec: RemoteIdDecoder, data: bytes, chunk: int | None = None) -> list[E.InputEvent]:
    out: list[E.InputEvent] = []
    step = chunk or max(1, len(data))
    for i in range(0, len(data), step):
        out.extend(dec.feed(data[i : i + step]))
    return out + dec.close()


def test_layout_matches_the_standard():
    loc = rid_location(55.75, 37.61, 120.5, 10.0, 200.0, -1.5, tenths=5995)
    assert len(loc) == 25 and loc[0] == 0x12 and loc[1] & 0x02  # type 1, version 2; east-west flag
    assert loc[2] == 20 and loc[3] == 40 and loc[4] == 0xFD  # 200 - 180 degrees; 10 / 0.25; -1.5 / 0.5
    assert int.from_bytes(loc[5:9], "little", signed=True) == 557500000
    assert int.from_bytes(loc[15:17], "little") == (120.5 + 1000) * 2
    assert len(rid_basic_id("X")) == len(rid_system(0, 0, 1_700_000_000)) == len(rid_operator_id("Y")) == 25


def test_a_pack_makes_one_report_with_id_operator_velocity_and_time():
    pack = rid_pack([
        rid_basic_id("1596F350457ABC"),
        rid_location(55.75, 37.61, 120.5, 10.0, 90.0, 1.5, tenths=35895),
        rid_system(55.74, 37.60, int(T.timestamp())),
        rid_operator_id("GBR-OP-123456"),
    ])
    dec = RemoteIdDecoder()
    (ev,) = run(dec, pack)
    assert isinstance(ev, E.RemoteIdReport)
    assert ev.uas_id == "1596F350457ABC" and ev.operator_id == "GBR-OP-123456"
    assert (ev.lat, ev.lon, ev.alt) == (pytest.approx(55.75), pytest.approx(37.61), 120.5)
    assert ev.ve == pytest.approx(10.0) and ev.vn == pytest.approx(0.0, abs=1e-9) and ev.vu == 1.5
    # 3589.5 s after the hour, dated by the System message in the same pack (00:59:50)
    assert ev.t == datetime(2025, 3, 11, 0, 59, 49, 500000, tzinfo=UTC)
    assert dec.counts.ignored["basic ID"] == 1


def test_time_after_the_hour_is_placed_nearest_the_reference():
    dec = RemoteIdDecoder(start=T)
    msgs = rid_basic_id("A") + rid_location(50, 8, 100, 0, 0, 0, tenths=5) + rid_location(50, 8, 100, 0, 0, 0, tenths=35990)
    a, b = run(dec, msgs)
    assert a.t == datetime(2025, 3, 11, 1, 0, 0, 500000, tzinfo=UTC)  # just after the next hour
    assert b.t == datetime(2025, 3, 11, 0, 59, 59, tzinfo=UTC)


def test_singles_in_pieces_and_the_same_as_packs():
    singles = rid_basic_id("A1") + rid_location(48.1, 11.5, 600, 70.0, 10, 0, tenths=100)
    pack = rid_pack([rid_basic_id("A1"), rid_location(48.1, 11.5, 600, 70.0, 10, 0, tenths=100)])
    a = run(RemoteIdDecoder(start=T), singles, chunk=7)
    b = run(RemoteIdDecoder(start=T), pack, chunk=3)
    assert a == b and len(a) == 1
    assert a[0].ve is not None and (a[0].ve**2 + a[0].vn**2) ** 0.5 == pytest.approx(70.0, abs=0.5)  # speed multiplier


def test_gaps_and_bad_messages():
    dec = RemoteIdDecoder(start=T)
    data = (
        rid_location(48.1, 11.5, 600, 1, 1, 0, tenths=1)  # before any basic ID
        + rid_location(0, 0, 600, 1, 1, 0, tenths=1)  # no position
        + bytes([0x92]) + b"\0" * 24  # type 9
        + bytes([0xF2, 30, 2])  # a pack header with a wrong message size
        + b"\0" * 22
        + rid_basic_id("B")
        + rid_location(48.1, 11.5, 600, 1, 1, 0, tenths=1)
        + b"\x12\x00"  # truncated
    )
    out = run(dec, data)
    assert dec.counts.ignored["location before any basic ID"] == 1 and dec.counts.ignored["location without a position"] == 1
    assert dec.counts.rejected == {"message type": 1, "pack": 1, "truncated": 1}
    assert sum(isinstance(e, E.RemoteIdReport) for e in out) == 1
    no_time = RemoteIdDecoder()
    run(no_time, rid_basic_id("C") + rid_location(48.1, 11.5, 600, 1, 1, 0, tenths=1))
    assert no_time.counts.rejected["no time"] == 1


def test_json_messages_per_sender():
    lines = [
        {"type": "BasicID", "UASID": "DRONE-1", "sender": "aa:bb"},
        {"type": "BasicID", "UASID": "DRONE-2", "sender": "cc:dd"},
        {"type": "OperatorID", "OperatorId": "OP-9", "sender": "aa:bb"},
        {"type": "Location", "sender": "aa:bb", "received": "2025-03-11T00:10:00Z", "Latitude": 55.7, "Longitude": 37.6,
         "AltitudeGeo": 150.0, "SpeedHorizontal": 5.0, "Direction": 180.0, "SpeedVertical": -0.5, "TimeStamp": 600.2},
        {"type": "Location", "sender": "cc:dd", "received": 1741651800.0, "Latitude": 55.8, "Longitude": 37.7, "AltitudeGeo": 90.0},
        {"type": "Location", "sender": "cc:dd", "Latitude": "north"},
    ]
    data = b"".join(json.dumps(x).encode() + b"\n" for x in lines) + b"{oops\n"
    dec = RemoteIdDecoder("jsonl")
    out = run(dec, data)
    a, b = [e for e in out if isinstance(e, E.RemoteIdReport)]
    assert a.uas_id == "DRONE-1" and a.operator_id == "OP-9" and a.t == datetime(2025, 3, 11, 0, 10, 0, 200000, tzinfo=UTC)
    assert a.vn == pytest.approx(-5.0) and a.vu == -0.5
    assert b.uas_id == "DRONE-2" and b.operator_id == "" and b.ve is None and b.t == datetime(2025, 3, 11, 0, 10, tzinfo=UTC)
    assert dec.counts.rejected == {"json field": 1, "json syntax": 1}
