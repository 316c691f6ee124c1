"""Messages per second of each wire decoder on one core, next to its library alone.

    python bench/ingest.py [--seconds 2]

Inputs are made once in memory: the real ADS-B recording shipped for the tests (rs1090's test
data) repeated, with times shifted so positions keep decoding; CAT048 blocks of 20 plots and
CAT062 blocks of 20 tracks (libasterix's encoder); SAPIENT detections (sapient-msg); Remote ID
packs. Each line prints Skywarden's rate, the library's rate on the same messages (the part of
the work it does: rs1090's decode of each frame, libasterix's parse of each block and of the
items read, protobuf's parse of each message, and that parse with every field the adapter reads
read through protobuf's accessors) and the ratio. Remote ID has no library.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skywarden.ingest.adsb import AdsbDecoder  # noqa: E402
from skywarden.ingest.asterix import AsterixDecoder  # noqa: E402
from skywarden.ingest.remoteid import RemoteIdDecoder  # noqa: E402
from skywarden.ingest.sapient import SapientDecoder  # noqa: E402
from skywarden.ingest.sensors import RadarSite, SensorSites  # noqa: E402
from tests.ingest_frames import rid_basic_id, rid_location, rid_pack  # noqa: E402

START = datetime(2025, 3, 10, 21, 0, tzinfo=UTC)


def rate(fn: Callable[[], int], seconds: float) -> float:
    """Messages per second of ``fn`` (returns how many it handled), best of repeated runs."""
    fn()  # warm
    best, spent = 0.0, 0.0
    while spent < seconds:
        t0 = time.perf_counter()
        n = fn()
        dt = time.perf_counter() - t0
        spent += dt
        best = max(best, n / dt)
    return best


def adsb_inputs(copies: int) -> tuple[bytes, list[str]]:
    rows = []
    for line in (Path(__file__).resolve().parents[1] / "tests/data/ingest/rs1090_short_flights.csv").read_text().splitlines():
        if line.strip():
            t, f = line.split(",")
            rows.append((float(t), f.strip()))
    span = rows[-1][0] - rows[0][0] + 1
    lines, frames = [], []
    for c in range(copies):
        for t, f in rows:
            lines.append(json.dumps({"timestamp": t + c * span, "frame": f}))
            frames.append(f)
    return ("\n".join(lines) + "\n").encode(), frames


def bench_adsb(seconds: float) -> tuple[float, float]:
    import rs1090

    data, frames = adsb_inputs(20)

    def ours() -> int:
        dec = AdsbDecoder("jsonl")
        dec.feed(data)
        dec.close()
        return len(frames)

    def lib() -> int:
        for f in frames:
            rs1090.decode(f)
        return len(frames)

    return rate(ours, seconds), rate(lib, seconds)


def bench_asterix(seconds: float) -> tuple[float, float]:
    import asterix.generated as gen
    from asterix.base import Bits, RawDatablock

    C48 = gen.Cat_048_1_32
    recs = [
        C48.cv_record.create({
            "010": (("SAC", 25), ("SIC", 10)), "140": (75600.0 + k * 0.01, "s"), "020": (0x50,),
            "040": (("RHO", (5.0 + k * 0.3, "NM")), ("THETA", (k * 7.0 % 360, "°"))),
            "090": (0, 0, ("FL", (10.0 + k, "FL"))), "220": 0x400000 + k, "240": f"TST{k:05d}",
        })
        for k in range(20)
    ]
    blocks = [C48.create(recs).unparse().to_bytes()] * 50
    data = b"".join(blocks)
    n = 20 * len(blocks)
    sites = SensorSites({(25, 10): RadarSite(sac=25, sic=10, lat=55.9, lon=37.4, alt=190.0)}, {})

    def ours() -> int:
        dec = AsterixDecoder(sites, start=START)
        dec.feed(data)
        return n

    def lib() -> int:
        for b in blocks:
            raw = RawDatablock.parse(Bits.from_bytes(b))[0]
            for rec in C48.cv_uap.parse(raw.get_raw_records()):
                i040 = rec.get_item("040").variation
                i040.get_item("RHO").variation.content.as_quantity("NM")
                i040.get_item("THETA").variation.content.as_quantity("°")
                rec.get_item("140").variation.content.as_quantity("s")
                rec.get_item("090").variation.get_item("FL").variation.content.as_quantity("FL")
                rec.get_item("240").variation.content.as_string()
        return n

    return rate(ours, seconds), rate(lib, seconds)


def bench_sapient(seconds: float) -> tuple[float, float, float]:
    from sapient_msg.bsi_flex_335_v2_0.sapient_message_pb2 import SapientMessage

    frames = []
    for k in range(2000):
        m = SapientMessage(node_id="0a5e2d3c-1111-4222-8333-444455556666")
        m.timestamp.FromDatetime(START + timedelta(seconds=k * 0.1))
        d = m.detection_report
        d.report_id, d.object_id = f"R{k}", "OBJ"
        d.location.x, d.location.y, d.location.z = 37.6 + k * 1e-5, 55.7, 120.0
        d.location.coordinate_system, d.location.datum = 1, 1
        c = d.classification.add()
        c.type, c.confidence = "UAV", 0.9
        raw = m.SerializeToString()
        frames.append((raw, len(raw).to_bytes(4, "little") + raw))
    data = b"".join(f for _, f in frames)

    def ours() -> int:
        dec = SapientDecoder()
        dec.feed(data)
        return len(frames)

    def lib() -> int:
        for raw, _ in frames:
            SapientMessage.FromString(raw)
        return len(frames)

    def lib_read() -> int:
        # the parse and, through protobuf's own accessors, every field the adapter reads: upb
        # parses lazily, so this is what the library costs before any of Skywarden's work
        for raw, _ in frames:
            m = SapientMessage.FromString(raw)
            m.WhichOneof("content")
            m.node_id  # noqa: B018 - read for its cost
            m.HasField("timestamp")
            m.timestamp.seconds, m.timestamp.nanos  # noqa: B018
            d = m.detection_report
            max(d.classification, key=lambda c: c.confidence).type  # noqa: B018
            d.id  # noqa: B018
            d.WhichOneof("location_oneof")
            loc = d.location
            loc.coordinate_system  # noqa: B018
            loc.HasField("x"), loc.HasField("y"), loc.HasField("z"), loc.HasField("x_error"), loc.HasField("y_error")  # noqa: B018
            loc.x, loc.y, loc.z  # noqa: B018
        return len(frames)

    return rate(ours, seconds), rate(lib, seconds), rate(lib_read, seconds)


def bench_remoteid(seconds: float) -> float:
    packs = b"".join(rid_pack([rid_basic_id("U1"), rid_location(55.7 + k * 1e-5, 37.6, 100, 5, 45, 0, k % 36000)]) for k in range(2000))

    def ours() -> int:
        dec = RemoteIdDecoder(start=START)
        dec.feed(packs)
        return 2000

    return rate(ours, seconds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="time spent measuring each rate")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    print(f"{'format':<28}{'skywarden msg/s':>16}{'library msg/s':>16}{'ratio':>8}")
    for name, fn in (("adsb (jsonl; rs1090)", bench_adsb), ("asterix CAT048 (libasterix)", bench_asterix)):
        ours, lib = fn(args.seconds)
        print(f"{name:<28}{ours:>16,.0f}{lib:>16,.0f}{ours / lib:>8.2f}")
    ours, lib, lib_read = bench_sapient(args.seconds)
    print(f"{'sapient (protobuf)':<28}{ours:>16,.0f}{lib:>16,.0f}{ours / lib:>8.2f}")
    print(f"{'  (parse + fields read)':<28}{ours:>16,.0f}{lib_read:>16,.0f}{ours / lib_read:>8.2f}")
    print(f"{'remoteid (own decoder)':<28}{bench_remoteid(args.seconds):>16,.0f}{'-':>16}{'-':>8}")


if __name__ == "__main__":
    main()
