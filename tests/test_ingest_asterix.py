"""ASTERIX CAT048/CAT062: blocks built with libasterix's own encoder (its round trip), raw
streams and pcap captures (written by dpkt, an independent writer), sites, dates, rejections."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from skywarden import events as E
from skywarden.errors import ConfigError
from skywarden.ingest.asterix import AsterixDecoder
from skywarden.ingest.pcap import PcapReader
from skywarden.ingest.sensors import load_sensors

gen = pytest.importorskip("asterix.generated")
C48, C62 = gen.Cat_048_1_32, gen.Cat_062_1_21
START = datetime(2025, 3, 10, 23, 0, tzinfo=UTC)
SITES = """
[[radar]]
sac = 25
sic = 10
lat = 55.9
lon = 37.4
alt = 190.0
id = "radar-north"
"""


def plot(rho_nm: float, theta: float, tod: float, fl: float | None = None, adr: int | None = None, cs: str | None = None, sac: int = 25, sic: int = 10):
    items = {"010": (("SAC", sac), ("SIC", sic)), "140": (tod, "s"), "020": (0x50,), "040": (("RHO", (rho_nm, "NM")), ("THETA", (theta, "°")))}
    if fl is not None:
        items["090"] = (0, 0, ("FL", (fl, "FL")))
    if adr is not None:
        items["220"] = adr
    if cs is not None:
        items["240"] = cs.ljust(8)
    return C48.cv_record.create(items)


def track(lat: float, lon: float, tod: float, alt_ft: float | None = None, fl: float | None = None, sigma: tuple[float, float] | None = None, cs: str | None = None):
    items = {"010": (("SAC", 1), ("SIC", 2)), "070": (tod, "s"), "105": (("LAT", (lat, "°")), ("LON", (lon, "°"))), "040": 7}
    if alt_ft is not None:
        items["130"] = (alt_ft, "ft")
    if fl is not None:
        items["135"] = (0, ("CTB", (fl, "FL")))
    if sigma is not None:
        items["500"] = {"APC": (("X", (sigma[0], "m")), ("Y", (sigma[1], "m")))}
    if cs is not None:
        items["380"] = {"ID": cs.ljust(8), "ADR": 0xABCDEF}
    return C62.cv_record.create(items)


def block(spec, records) -> bytes:
    return spec.create(records).unparse().to_bytes()


@pytest.fixture
def sites(tmp_path: Path):
    f = tmp_path / "sensors.toml"
    f.write_text(SITES)
    return load_sensors(f)


def decode(dec: AsterixDecoder, data: bytes, chunk: int | None = None) -> list[E.InputEvent]:
    out: list[E.InputEvent] = []
    step = chunk or max(len(data), 1)
    for i in range(0, len(data), step):
        out.extend(dec.feed(data[i : i + step]))
    return out + dec.close()


def test_cat048_plots_become_polar_plots_with_elevation_from_flight_level(sites):
    tod = 23 * 3600 + 10.0
    data = block(C48, [plot(10.0, 45.0, tod, fl=50, adr=0x4840D6, cs="KLM1023"), plot(20.0, 350.5, tod + 0.1, fl=20, adr=0x4840D7), plot(5.0, 90.0, tod + 0.2)])
    dec = AsterixDecoder(sites, start=START)
    out = decode(dec, data)
    assert dec.counts.n_rejected == 0 and len(out) == 2
    with_fl, without = out
    assert isinstance(with_fl, E.PolarPlots) and isinstance(without, E.PolarPlots)
    assert with_fl.t == datetime(2025, 3, 10, 23, 0, 10, tzinfo=UTC)
    assert with_fl.sensor_id == "radar-north" and (with_fl.sensor_lat, with_fl.sensor_lon, with_fl.sensor_alt) == (55.9, 37.4, 190.0)
    # the library's resolution: 1/256 NM in range, 360/2**16 degrees in azimuth
    assert with_fl.range_m == pytest.approx([10 * 1852, 20 * 1852], abs=1852 / 256)
    assert with_fl.azimuth_deg == pytest.approx([45.0, 350.5], abs=360 / 2**16)
    h = 5000 * 0.3048
    assert with_fl.elevation_deg[0] == pytest.approx(math.degrees(math.asin((h - 190) / (10 * 1852))), abs=1e-3)
    assert with_fl.identity == ["KLM1023", "4840d7"]
    assert without.elevation_deg == [0.0] and without.sigma_elevation_deg == 5.0 and without.identity is None


def test_unknown_radar_is_rejected_with_that_reason(sites):
    dec = AsterixDecoder(sites, start=START)
    out = decode(dec, block(C48, [plot(10, 1, 100.0, sac=9, sic=9), plot(10, 1, 100.0)]))
    assert dec.counts.rejected["unknown radar"] == 1
    assert any(isinstance(e, E.ReportRejected) and "SAC 9 SIC 9" in e.reason for e in out)
    assert sum(isinstance(e, E.PolarPlots) for e in out) == 1


def test_cat062_tracks_become_position_plots(sites):
    tod = 23 * 3600 + 59 * 60 + 59.5
    data = block(C62, [track(55.75, 37.61, tod, alt_ft=1000, sigma=(30, 40), cs="AFL123"), track(55.76, 37.62, tod, fl=12.5)])
    dec = AsterixDecoder(sites, start=START)
    (ev,) = decode(dec, data)
    assert isinstance(ev, E.PositionPlots) and ev.sensor_id == "asterix-1-2"
    q = 180 / 2**25  # I062/105 resolution, degrees
    assert ev.lat == pytest.approx([55.75, 55.76], abs=q) and ev.lon == pytest.approx([37.61, 37.62], abs=q)
    assert ev.alt == pytest.approx([1000 * 0.3048, 1250 * 0.3048], abs=2)
    assert ev.sigma_m == pytest.approx([40.0, 100.0], abs=0.5)
    assert ev.identity == ["AFL123", ""]


def test_time_of_day_crosses_midnight(sites):
    dec = AsterixDecoder(sites, start=START)  # 23:00 on the 10th
    a = decode(dec, block(C48, [plot(10, 1, 86399.0)]))
    b = decode(dec, block(C48, [plot(10, 1, 1.0)]))
    assert a[0].t == datetime(2025, 3, 10, 23, 59, 59, tzinfo=UTC)
    assert b[0].t == datetime(2025, 3, 11, 0, 0, 1, tzinfo=UTC)


def test_stream_in_pieces_and_bad_blocks(sites):
    good = block(C48, [plot(10, 1, 100.0, fl=10)]) + block(C62, [track(55.7, 37.6, 100.0, alt_ft=500)])
    whole = decode(AsterixDecoder(sites, start=START), good)
    assert decode(AsterixDecoder(sites, start=START), good, chunk=5) == whole and len(whole) == 2
    dec = AsterixDecoder(sites, start=START)
    out = decode(dec, bytes([34, 0, 4, 0]) + bytes([48, 0, 5, 0xFF, 0xFF]) + good + bytes([48, 0, 1]) + good)
    assert dec.counts.ignored["CAT034"] == 1
    assert dec.counts.rejected["CAT048 parse"] == 1 and dec.counts.rejected["block length"] == 1
    assert sum(not isinstance(e, E.ReportRejected) for e in out) == 2  # nothing after the unframeable block
    no_date = AsterixDecoder(sites)
    decode(no_date, good)
    assert no_date.counts.rejected["no date"] == 2


def test_pcap_written_by_dpkt_gives_the_same_events(sites, tmp_path: Path):
    dpkt = pytest.importorskip("dpkt")
    t0 = datetime(2025, 3, 10, 23, 0, 5, tzinfo=UTC).timestamp()
    blocks = [block(C48, [plot(10 + k, 2 * k, 23 * 3600 + 5 + k, fl=30)]) for k in range(3)]
    path = tmp_path / "radar.pcap"
    with path.open("wb") as fh:
        w = dpkt.pcap.Writer(fh)
        for k, payload in enumerate(blocks):
            udp = dpkt.udp.UDP(sport=4000, dport=8600, data=payload)
            udp.ulen = len(udp)
            ip = dpkt.ip.IP(src=bytes([10, 0, 0, 1]), dst=bytes([232, 1, 1, 1]), p=17, data=udp)
            ip.len = len(ip)
            eth = dpkt.ethernet.Ethernet(src=b"\x00" * 6, dst=b"\x01" * 6, type=0x0800, data=ip)
            w.writepkt(bytes(eth), ts=t0 + k)
    reader = PcapReader(path)
    grams = list(reader)
    assert reader.error == "" and [g.payload for g in grams] == blocks
    assert grams[0].dst == "232.1.1.1:8600" and grams[1].t.timestamp() == pytest.approx(t0 + 1)
    dec = AsterixDecoder(sites)  # the capture dates the plots: no start needed
    out = [e for g in grams for e in dec.feed_datagram(g.payload, g.t)]
    assert [e.t for e in out] == [g.t for g in grams]
    # a datagram with a cut block loses only itself
    cut = dec.feed_datagram(blocks[0][:-2], grams[0].t)
    assert isinstance(cut[0], E.ReportRejected) and "block" in cut[0].reason


def test_truncated_pcap_ends_with_a_reason(tmp_path: Path):
    p = tmp_path / "cut.pcap"
    p.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\0" * 20 + b"\0" * 8 + (2**31).to_bytes(4, "little") + b"\0" * 4)
    r = PcapReader(p)
    assert list(r) == [] and "exceeds" in r.error
    p.write_bytes(b"hello")
    r = PcapReader(p)
    assert list(r) == [] and r.error == "not a pcap or pcapng file"


def test_sensors_file_errors(tmp_path: Path):
    f = tmp_path / "s.toml"
    f.write_text(SITES + "colour = 1\n")
    with pytest.raises(ConfigError, match="colour"):
        load_sensors(f)
    f.write_text(SITES.replace("lat = 55.9", "lat = 95.9"))
    with pytest.raises(ConfigError, match="latitude"):
        load_sensors(f)
    f.write_text(SITES + SITES)
    with pytest.raises(ConfigError, match="twice"):
        load_sensors(f)
