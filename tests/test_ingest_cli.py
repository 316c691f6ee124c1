"""``skywarden decode`` as a user types it, and its output played by ``skywarden run --input``."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from skywarden import events as E
from skywarden.cli import app
from skywarden.log import SqliteLog
from tests.ingest_frames import beast, ident_frame, position_frame
from tests.test_ingest_adsb import DATA as ADSB_CSV
from tests.test_ingest_adsb import as_jsonl, recorded
from tests.test_ingest_sapient import frame, message

runner = CliRunner()
NIGHT = datetime(2025, 3, 10, 21, 0, tzinfo=UTC)  # the default scenario's start


def sapient_drone(path: Path) -> int:
    """A SAPIENT node's recording: status, then a drone flying north-east for 40 s."""
    st = message(t=NIGHT)
    st.status_report.system = 1
    chunks = [frame(st)]
    for k in range(40):
        m = message(t=NIGHT + timedelta(seconds=5 + k))
        d = m.detection_report
        d.report_id, d.object_id = f"R{k}", "OBJ1"
        d.location.x, d.location.y, d.location.z = 37.60 + k * 0.0002, 55.70 + k * 0.0002, 150.0
        d.location.coordinate_system, d.location.datum = 1, 1
        d.location.x_error = d.location.y_error = 0.0002
        c = d.classification.add()
        c.type, c.confidence = "UAV", 0.8
        chunks.append(frame(m))
    chunks.append(b"\x05\x00\x00\x00\xff\xff\xff\xff\xff")  # garbage
    path.write_bytes(b"".join(chunks))
    return len(chunks) - 1


def test_sapient_recording_decodes_and_plays_into_a_confirmed_track(tmp_path: Path):
    rec = tmp_path / "node.sapient"
    sapient_drone(rec)
    out, rej = tmp_path / "reports.jsonl", tmp_path / "rejects.jsonl"
    res = runner.invoke(app, ["decode", "sapient", str(rec), "--output", str(out), "--rejects", str(rej)])
    assert res.exit_code == 0, res.output
    assert "accepted 41, rejected 1" in res.output and "protobuf" in res.output
    lines = out.read_bytes().splitlines()
    assert len(lines) == 41
    (bad,) = [E.decode(x) for x in rej.read_bytes().splitlines()]
    assert isinstance(bad, E.ReportRejected) and bad.reason.startswith("protobuf")
    log = tmp_path / "night.sqlite"
    res = runner.invoke(app, ["run", "--log", str(log), "--until", "00:02", "--input", str(out), "--workers", "1"])
    assert res.exit_code == 0, res.output
    db = SqliteLog(log)
    evs = [r.event() for r in db.read()]
    db.close()
    played = [E.encode(e) for e in evs if isinstance(e, E.PositionPlots | E.SensorStatus)]
    assert played == lines  # every decoded report is in the log, unchanged, none rejected
    assert not any(isinstance(e, E.ReportRejected) for e in evs)
    confirmed = [e for e in evs if isinstance(e, E.TrackConfirmed)]
    assert confirmed and math.isclose(confirmed[0].lat, 55.70, abs_tol=0.01)


def test_adsb_real_recording_and_rejections(tmp_path: Path):
    src = tmp_path / "adsb.jsonl"
    src.write_bytes(as_jsonl(recorded()))
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["decode", "adsb", str(src), "-o", str(out)])
    assert res.exit_code == 0, res.output
    reports = [E.decode(x) for x in out.read_bytes().splitlines()]
    assert len(reports) > 100 and all(isinstance(r, E.AdsbReport) for r in reports)
    assert ADSB_CSV.exists()
    # Beast without --start: counters cannot be dated, said and counted
    bin_ = tmp_path / "rx.bin"
    bin_.write_bytes(b"".join(beast(f, 1000 + k * 6_000_000) for k, f in enumerate([ident_frame(0xABCDEF, "X1"), position_frame(0xABCDEF, 55.7, 37.6, 1000, False)])))
    res = runner.invoke(app, ["decode", "adsb", str(bin_), "-o", str(out)])
    assert res.exit_code == 0 and "no time" in res.output and "accepted 0, rejected 2" in res.output
    res = runner.invoke(app, ["decode", "adsb", str(bin_), "-o", str(out), "--start", "2025-03-10T21:00:00Z"])
    assert res.exit_code == 0 and "accepted 0, rejected 0" in res.output  # one frame: awaiting its pair


def test_asterix_pcap_with_sensors(tmp_path: Path):
    import dpkt

    from tests.test_ingest_asterix import C48, SITES, block, plot

    sensors = tmp_path / "sensors.toml"
    sensors.write_text(SITES)
    pcap = tmp_path / "radar.pcap"
    with pcap.open("wb") as fh:
        w = dpkt.pcap.Writer(fh)
        for k in range(3):
            payload = block(C48, [plot(5 + k, 10.0, 21 * 3600 + k, fl=10), plot(6, 20.0, 21 * 3600 + k, sac=1, sic=1)])
            udp = dpkt.udp.UDP(sport=1, dport=2, data=payload)
            udp.ulen = len(udp)
            ip = dpkt.ip.IP(src=b"\x7f\0\0\1", dst=b"\x7f\0\0\1", p=17, data=udp)
            ip.len = len(ip)
            w.writepkt(bytes(dpkt.ethernet.Ethernet(type=0x0800, data=ip)), ts=(NIGHT + timedelta(seconds=k)).timestamp())
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["decode", "asterix", str(pcap), "--sensors", str(sensors), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "unknown radar" in res.output and "accepted 3, rejected 3" in res.output
    evs = [E.decode(x) for x in out.read_bytes().splitlines()]
    assert [e.t for e in evs] == [NIGHT + timedelta(seconds=k) for k in range(3)]


def test_usage_errors(tmp_path: Path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"")
    res = runner.invoke(app, ["decode", "morse", str(f), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2 and "unknown format" in res.output
    res = runner.invoke(app, ["decode", "adsb", str(f), "-o", str(tmp_path / "o"), "--start", "2025-03-10T21:00:00"])
    assert res.exit_code == 2 and "zone" in res.output
    res = runner.invoke(app, ["decode", "asterix", str(f), "-o", str(tmp_path / "o"), "--sensors", str(f)])
    assert res.exit_code == 0  # an empty sensors file is no sites
    res = runner.invoke(app, ["decode", "--help"])
    assert res.exit_code == 0 and "Example" in res.output
