"""ADS-B decoding: real frames cross-checked against rs1090's (and pyModeS's) own decode, the
three framings round-tripped, partial frames, CRC and time rejections."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import rs1090

from skywarden import events as E
from skywarden.ingest.adsb import FT, AdsbDecoder, cpr_global, cpr_local, crc24
from tests.ingest_frames import avr, beast, ident_frame, position_frame, velocity_frame

DATA = Path(__file__).parent / "data" / "ingest" / "rs1090_short_flights.csv"
START = datetime(2025, 7, 29, 22, 23, 5, tzinfo=UTC)


def recorded() -> list[tuple[float, str]]:
    """A real recording (rs1090's test data, MIT): UNIX time, hex frame."""
    rows = []
    for line in DATA.read_text().splitlines():
        if line.strip():
            t, frame = line.split(",")
            rows.append((float(t), frame.strip()))
    return rows


def as_jsonl(rows: list[tuple[float, str]]) -> bytes:
    return b"".join(json.dumps({"timestamp": t, "frame": f}).encode() + b"\n" for t, f in rows)


def decode_all(dec: AdsbDecoder, data: bytes, chunk: int | None = None) -> list[E.InputEvent]:
    out: list[E.InputEvent] = []
    step = chunk or max(len(data), 1)
    for i in range(0, len(data), step):
        out.extend(dec.feed(data[i : i + step]))
    out.extend(dec.close())
    return out


def reports(events: list[E.InputEvent]) -> list[E.AdsbReport]:
    return [e for e in events if isinstance(e, E.AdsbReport)]


def test_crc_of_real_frames_is_zero_and_a_flipped_bit_is_not():
    for _, frame in recorded()[:50]:
        msg = bytes.fromhex(frame)
        assert crc24(msg) == 0
        assert crc24(bytes([msg[0], msg[1] ^ 0x10]) + msg[2:]) != 0


def test_every_damaged_extended_squitter_is_rejected_for_its_crc():
    """The decoder leaves the parity check to rs1090 (None for a damaged frame) and computes it
    only to name the reason: hold the library to that on real frames with one to three bits
    flipped anywhere after the downlink format."""
    import random

    rng = random.Random(7)
    frames = [f for _, f in recorded() if len(f) == 28 and int(f[:2], 16) >> 3 in (17, 18)]
    damaged: list[tuple[float, str]] = []
    for k, frame in enumerate(frames[:200]):
        msg = bytearray(bytes.fromhex(frame))
        for _ in range(rng.randint(1, 3)):
            msg[rng.randrange(1, 14)] ^= 1 << rng.randrange(8)
        if crc24(bytes(msg)) != 0:
            damaged.append((1_753_827_785.0 + k, msg.hex()))
    dec = AdsbDecoder("jsonl")
    out = decode_all(dec, as_jsonl(damaged))
    assert len(damaged) > 150
    assert reports(out) == []
    assert dec.counts.rejected["crc"] == len(damaged)


def test_real_recording_positions_match_rs1090_field_by_field():
    rows = recorded()
    dec = AdsbDecoder("jsonl")
    got = reports(decode_all(dec, as_jsonl(rows)))
    assert len(got) > 100 and dec.counts.n_rejected == 0
    # rs1090's own stateful decode of the same frames, by frame time
    ref = rs1090.decode([f for _, f in rows], [t for t, _ in rows])
    by_time = {(round(r["timestamp"], 6), r["icao24"]): r for r in ref if "latitude" in r}
    callsigns = {r["icao24"]: r["callsign"].strip() for r in ref if r.get("callsign")}
    matched = 0
    for ev in got:
        key = (round(ev.t.timestamp(), 6), ev.icao24)
        r = by_time.get(key)
        if r is None:
            continue
        matched += 1
        assert ev.lat == pytest.approx(r["latitude"], abs=1e-6)
        assert ev.lon == pytest.approx(r["longitude"], abs=1e-6)
        assert ev.callsign in ("", callsigns.get(ev.icao24))
    assert matched >= 0.9 * len(got)
    # every aircraft with a callsign in the recording carries it once identified
    assert {e.icao24 for e in got if e.callsign} <= set(callsigns)


def test_real_recording_matches_pymodes_when_installed():
    pms = pytest.importorskip("pyModeS", reason="pyModeS (GPL) is an optional cross-check only")
    rows = recorded()
    frame_at = {round(t, 6): f for t, f in rows}
    got = reports(decode_all(AdsbDecoder("jsonl"), as_jsonl(rows)))
    for e in got:
        # pyModeS decodes each frame on its own against a reference within 180 NM: the
        # recording's receiver is near Atlanta
        r = pms.decode(frame_at[round(e.t.timestamp(), 6)], reference=(33.8, -84.4))
        assert r["icao"].lower() == e.icao24
        # within one CPR step (360 / 60 / 2**17 = 4.6e-5 degrees)
        assert e.lat == pytest.approx(r["latitude"], abs=5e-5)
        assert e.lon == pytest.approx(r["longitude"], abs=5e-5)


def test_altitude_adds_the_gnss_minus_baro_difference_and_velocity_is_east_north_up():
    icao = 0x4CA123
    frames = [
        velocity_frame(icao, ve_kt=-100, vn_kt=200, vr_fpm=-640, geo_minus_baro_ft=250),
        ident_frame(icao, "SKW123"),
        position_frame(icao, 55.75, 37.61, 3000, odd=False),
        position_frame(icao, 55.751, 37.612, 3000, odd=True),
    ]
    for f in frames:
        assert rs1090.decode(f.hex()) is not None  # the test encoder makes frames rs1090 accepts
    rows = [(START.timestamp() + k * 0.5, f.hex()) for k, f in enumerate(frames)]
    got = reports(decode_all(AdsbDecoder("jsonl"), as_jsonl(rows)))
    assert len(got) == 1
    ev = got[0]
    assert ev.icao24 == "4ca123" and ev.callsign == "SKW123"
    assert ev.lat == pytest.approx(55.751, abs=2e-4) and ev.lon == pytest.approx(37.612, abs=2e-4)
    assert ev.alt == pytest.approx((3000 + 250) * FT)
    kt = 1852 / 3600
    assert ev.ve == pytest.approx(-100 * kt) and ev.vn == pytest.approx(200 * kt)
    assert ev.vu == pytest.approx(-640 * FT / 60)


@pytest.mark.parametrize("lat,lon", [(55.75, 37.61), (-33.9, 151.2), (0.01, -0.01), (71.2, -179.95), (-60.5, 179.9)])
def test_global_then_local_cpr_recovers_positions_everywhere(lat, lon):
    from tests.ingest_frames import cpr_encode

    even, odd = cpr_encode(lat, lon, False), cpr_encode(lat + 0.001, lon + 0.001, True)
    g = cpr_global(even, odd, latest_odd=True)
    assert g is not None
    assert g[0] == pytest.approx(lat + 0.001, abs=1e-4) and g[1] == pytest.approx(lon + 0.001, abs=1e-4)
    nxt = cpr_encode(lat + 0.01, lon - 0.01, False)
    loc = cpr_local(nxt, False, *g)
    assert loc[0] == pytest.approx(lat + 0.01, abs=1e-4)
    assert math.isclose((loc[1] - (lon - 0.01) + 180) % 360 - 180, 0, abs_tol=1e-4)


def _flight() -> list[tuple[int, bytes]]:
    """(12 MHz clock, frame) of a synthetic flight with 0x1a bytes in clocks and messages."""
    icao = 0x1A1A1A
    out = [(0x1A1A1A1A1A1A, ident_frame(icao, "ESC1A"))]
    for k in range(12):
        out.append((0x1A1A1A1A1A1A + (k + 1) * 6_000_000, position_frame(icao, 55.6 + k * 0.002, 37.5, 1000 + 100 * k, odd=bool(k % 2))))
    return out


def test_beast_avr_and_jsonl_give_the_same_reports():
    flight = _flight()
    c0 = flight[0][0]
    jsonl = as_jsonl([(START.timestamp() + (c - c0) / 12e6, f.hex()) for c, f in flight])
    from_json = reports(decode_all(AdsbDecoder("jsonl"), jsonl))
    stream = b"".join(beast(f, c) for c, f in flight)
    assert b"\x1a\x1a" in stream  # escapes were exercised
    from_beast = reports(decode_all(AdsbDecoder("beast", start=START), stream))
    from_avr = reports(decode_all(AdsbDecoder("avr", start=START), b"".join(avr(f, c) for c, f in flight)))
    assert len(from_json) == 11
    for a, b, c in zip(from_json, from_beast, from_avr, strict=True):
        assert abs((a.t - b.t).total_seconds()) < 1e-5 and abs((a.t - c.t).total_seconds()) < 1e-5
        assert (a.lat, a.lon, a.alt, a.callsign) == (b.lat, b.lon, b.alt, b.callsign) == (c.lat, c.lon, c.alt, c.callsign)


@pytest.mark.parametrize("chunk", [1, 3, 17])
def test_partial_frames_wait_for_the_rest(chunk):
    flight = _flight()
    stream = b"".join(beast(f, c) for c, f in flight)
    whole = decode_all(AdsbDecoder("beast", start=START), stream)
    assert decode_all(AdsbDecoder("beast", start=START), stream, chunk=chunk) == whole
    text = b"".join(avr(f, c) for c, f in flight)
    assert decode_all(AdsbDecoder("avr", start=START), text, chunk=chunk) == decode_all(AdsbDecoder("avr", start=START), text)


def test_bad_frames_are_counted_rejections_and_decoding_goes_on():
    flight = _flight()
    bad_crc = bytearray(flight[3][1])
    bad_crc[5] ^= 0x01
    stream = (
        b"garbage"
        + beast(bytes(bad_crc), 5)
        + b"\x1a\x39" + b"\x00" * 9  # unknown frame type
        + b"".join(beast(f, c) for c, f in flight)
        + b"\x1a\x33\x00\x01"  # truncated at the end
    )
    dec = AdsbDecoder("beast", start=START)
    out = decode_all(dec, stream)
    rej = [e for e in out if isinstance(e, E.ReportRejected)]
    assert dec.counts.rejected["crc"] == 1 and dec.counts.rejected["beast sync"] == 1
    assert dec.counts.rejected["beast type"] == 1 and dec.counts.rejected["truncated"] == 1
    assert len(rej) == dec.counts.n_rejected and all(r.source == "adsb:beast" for r in rej)
    assert len(reports(out)) == 11


def test_counter_times_need_a_start_offline_and_take_now_live():
    flight = _flight()
    stream = b"".join(beast(f, c) for c, f in flight)
    dec = AdsbDecoder("beast")
    out = decode_all(dec, stream)
    assert not reports(out) and dec.counts.rejected["no time"] == 13
    now = START + timedelta(hours=1)
    live = AdsbDecoder("beast").feed(stream, now=now)
    assert reports(live) and all(e.t == now for e in reports(live))


def test_avr_and_json_syntax_errors():
    dec = AdsbDecoder("avr", start=START)
    dec.feed(b"*8D4840D6;\n*ZZ;\nhello\n" + b"*" + b"A" * 2000)
    assert dec.counts.rejected["avr syntax"] == 2 and dec.counts.rejected["length"] == 1
    assert dec.counts.rejected["line too long"] == 1
    j = AdsbDecoder("jsonl")
    j.feed(b'{"frame": "8d", "timestamp": "2025-01-01T00:00:00"}\n[1]\n{"frame":"zz","timestamp":1}\n')
    assert j.counts.rejected["json syntax"] == 3


def test_json_frames_in_capitals_or_spaced_decode_as_plain_hex_and_iso_times_as_unix_ones():
    """The hex as written goes to rs1090 only when it is bare hex digits: a frame written in
    capitals or with spaces between its bytes gives the same reports, and so do ISO times."""
    rows = recorded()
    plain = reports(decode_all(AdsbDecoder("jsonl"), as_jsonl(rows)))
    caps = reports(decode_all(AdsbDecoder("jsonl"), as_jsonl([(t, f.upper()) for t, f in rows])))
    spaced = reports(decode_all(AdsbDecoder("jsonl"), as_jsonl([(t, " ".join(f[i : i + 2] for i in range(0, len(f), 2))) for t, f in rows])))
    iso = b"".join(
        json.dumps({"timestamp": datetime.fromtimestamp(t, UTC).isoformat(), "frame": f}).encode() + b"\n" for t, f in rows
    )
    from_iso = reports(decode_all(AdsbDecoder("jsonl"), iso))
    assert len(plain) > 100
    assert plain == caps == spaced
    assert [(r.icao24, r.lat, r.lon, r.alt) for r in plain] == [(r.icao24, r.lat, r.lon, r.alt) for r in from_iso]
    assert all(abs((a.t - b.t).total_seconds()) < 1e-5 for a, b in zip(plain, from_iso, strict=True))
