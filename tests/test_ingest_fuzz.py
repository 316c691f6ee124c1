"""Property-based fuzzing of every wire decoder, bounded in time: whatever the bytes and however
they are cut, nothing escapes the decoder, garbage becomes counted rejections (never an error
the night would see), and every event made is one the report checks accept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skywarden import events as E
from skywarden.ingest.adsb import AdsbDecoder
from skywarden.ingest.asterix import AsterixDecoder
from skywarden.ingest.jsonl import ReportChecker
from skywarden.ingest.remoteid import RemoteIdDecoder
from skywarden.ingest.sapient import SapientDecoder
from skywarden.ingest.sensors import RadarSite, SensorSites
from skywarden.ingest.wire import Decoder
from tests.ingest_frames import (
    beast,
    ident_frame,
    position_frame,
    rid_basic_id,
    rid_location,
    rid_pack,
)

START = datetime(2025, 3, 10, 21, 0, tzinfo=UTC)
SITES = SensorSites({(25, 10): RadarSite(sac=25, sic=10, lat=55.9, lon=37.4, alt=190.0)}, {})
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _valid_seeds() -> dict[str, list[bytes]]:
    """Well-formed inputs for each decoder, which the fuzzer then cuts, flips and splices."""
    icao = 0x4CA123
    adsb = [beast(f, 1000 + k * 12_000) for k, f in enumerate([ident_frame(icao, "ABC"), position_frame(icao, 55.7, 37.6, 1000, False), position_frame(icao, 55.7, 37.6, 1000, True)])]
    rid = [rid_pack([rid_basic_id("U1"), rid_location(55.7, 37.6, 100, 5, 45, 0, 100)])]
    seeds = {"adsb": adsb, "remoteid": rid, "sapient": [], "asterix": []}
    try:
        from tests.test_ingest_sapient import detection_at, status

        seeds["sapient"] = [status(), detection_at(55.7, 37.6, 100.0)]
    except Exception:  # noqa: S110 - the packages may be absent: fuzz the raw bytes only
        pass
    try:
        from tests.test_ingest_asterix import C48, C62, block, plot, track

        seeds["asterix"] = [block(C48, [plot(10, 20, 75600.0, fl=20)]), block(C62, [track(55.7, 37.6, 75600.0, alt_ft=500)])]
    except Exception:  # noqa: S110
        pass
    return seeds


SEEDS = _valid_seeds()


def _make(name: str) -> Decoder:
    return {
        "adsb-beast": lambda: AdsbDecoder("beast", start=START),
        "adsb-avr": lambda: AdsbDecoder("avr", start=START),
        "adsb-jsonl": lambda: AdsbDecoder("jsonl"),
        "asterix": lambda: AsterixDecoder(SITES, start=START),
        "sapient": lambda: SapientDecoder(max_message=4096),
        "remoteid": lambda: RemoteIdDecoder(start=START),
        "remoteid-jsonl": lambda: RemoteIdDecoder("jsonl", start=START),
    }[name]()


@st.composite
def mangled(draw: st.DrawFn, family: str) -> bytes:
    parts = list(SEEDS.get(family, []))
    parts += draw(st.lists(st.binary(max_size=64), max_size=4))
    draw(st.randoms()).shuffle(parts)
    data = bytearray(b"".join(parts))
    for _ in range(draw(st.integers(0, 6))):
        if data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
    return bytes(data)


def _feed_all(dec: Decoder, data: bytes, cuts: list[int]) -> list[E.InputEvent]:
    out: list[E.InputEvent] = []
    pos = 0
    for c in sorted(set(min(c, len(data)) for c in cuts)):
        out += dec.feed(data[pos:c])
        pos = c
    out += dec.feed(data[pos:])
    return out + dec.close()


def _check(dec: Decoder, out: list[E.InputEvent]) -> None:
    assert "internal" not in dec.counts.rejected, [e for e in out if isinstance(e, E.ReportRejected)]
    rejected = [e for e in out if isinstance(e, E.ReportRejected)]
    assert len(rejected) == dec.counts.n_rejected
    checker = ReportChecker(source="fuzz", reorder_tolerance_s=1e9)
    for ev in out:
        if not isinstance(ev, E.ReportRejected):
            got = checker.check(E.encode(ev))
            assert not isinstance(got, E.ReportRejected) or "duplicate" in got.reason, got


@pytest.mark.parametrize("name,family", [
    ("adsb-beast", "adsb"), ("adsb-avr", "x"), ("adsb-jsonl", "x"), ("asterix", "asterix"),
    ("sapient", "sapient"), ("remoteid", "remoteid"), ("remoteid-jsonl", "x"),
])  # fmt: skip
def test_no_exception_escapes_and_garbage_is_counted(name: str, family: str):
    @FUZZ
    @given(data=mangled(family), cuts=st.lists(st.integers(0, 600), max_size=5))
    def run(data: bytes, cuts: list[int]) -> None:
        dec = _make(name)
        _check(dec, _feed_all(dec, data, cuts))

    run()


@FUZZ
@given(lines=st.lists(st.one_of(
    st.text(max_size=80),
    st.builds(lambda f, t: f'{{"frame": "{f}", "timestamp": {t}}}', st.text("0123456789abcdef", max_size=30), st.floats(allow_nan=True)),
    st.builds(lambda t, v: f'{{"type": "{t}", "Latitude": {v}, "Longitude": {v}, "UASID": "{t}", "AltitudeGeo": {v}}}', st.sampled_from(["BasicID", "Location", "System", "OperatorID", "X"]), st.floats(allow_nan=False, allow_infinity=False)),
), max_size=20))
def test_text_framings_take_any_lines(lines: list[str]):
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    for name in ("adsb-avr", "adsb-jsonl", "remoteid-jsonl"):
        dec = _make(name)
        _check(dec, _feed_all(dec, data, [len(data) // 2]))


def test_well_formed_seeds_decode():
    """The fuzzer's seeds are real messages: each decoder makes events from them untouched."""
    for name, family in (("adsb-beast", "adsb"), ("asterix", "asterix"), ("sapient", "sapient"), ("remoteid", "remoteid")):
        if not SEEDS[family]:
            continue
        dec = _make(name)
        out = _feed_all(dec, b"".join(SEEDS[family]), [])
        assert dec.counts.n_rejected == 0 and any(not isinstance(e, E.ReportRejected) for e in out), name
