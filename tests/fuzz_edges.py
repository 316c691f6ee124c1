"""Every input edge as one function of bytes, with seeds of well-formed input: what the
Hypothesis tests (tests/test_validation_fuzz.py) and the fuzzer (bench/fuzz.py) feed.

An edge's function returns an :class:`Outcome`: how many events (or rows, or files) it accepted,
the reasons of what it rejected, and how many of the events it made would not come back from the
log's encoding equal to themselves (``undecodable``: must be 0). Any exception escaping it is a
crash (must be none): an edge answers bad input with a rejection or its one clear error type.
"""

from __future__ import annotations

import contextlib
import io
import random
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

from skywarden import events as E
from skywarden.disclosure.policy import default_policy_path, load_rules
from skywarden.errors import ConfigError
from skywarden.geo import LocalFrame
from skywarden.ingest.adsb import AdsbDecoder
from skywarden.ingest.asterix import AsterixDecoder
from skywarden.ingest.jsonl import ReportChecker
from skywarden.ingest.remoteid import RemoteIdDecoder
from skywarden.ingest.sapient import SapientDecoder
from skywarden.ingest.sensors import RadarSite, SensorSites, load_sensors
from skywarden.ingest.validate import Window, reason_key, round_trips
from skywarden.ingest.wire import Decoder
from skywarden.scenario import load_scenario
from skywarden.tracking.recording import RecordingError, RowReader, open_sink, origin_of, retrack
from skywarden.tracking.tracker import TrackerConfig

START = datetime(2025, 3, 10, 21, 0, tzinfo=UTC)
NIGHT = Window.night(START, START + timedelta(hours=4))
SITES = SensorSites({(25, 10): RadarSite(sac=25, sic=10, lat=55.9, lon=37.4, alt=190.0)}, {})


@dataclass
class Outcome:
    accepted: int = 0
    reasons: list[str] = field(default_factory=list)
    undecodable: int = 0
    internal: list[str] = field(default_factory=list)  # a decoder's own bug, caught by feed: a crash


def _norm(text: str) -> str:
    """A reason as counted: the words before its first colon (``not valid TOML``, ``column t``),
    numbers and quoted values elided, at most 60 characters."""
    head, sep, _ = text.partition(": ")
    if sep and len(head) <= 40:
        text = head
    text = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", "…", text)
    text = re.sub(r"(?<![\w-])[-+]?\d[\d.e+-]*", "N", text)
    return text[:60]


def _events(out: Outcome, events: list[E.InputEvent]) -> None:
    for ev in events:
        if round_trips(ev):
            out.undecodable += 1
        if isinstance(ev, E.ReportRejected) and ev.reason.startswith("internal"):
            out.internal.append(ev.reason[:120])
        elif isinstance(ev, E.ReportRejected):
            out.reasons.append(reason_key(ev.reason))
        else:
            out.accepted += 1


# ----------------------------------------------------------------------------- JSON lines


def jsonl(data: bytes) -> Outcome:
    """``run --input`` and ``POST /api/ingest``: each line through the report checks."""
    checker = ReportChecker(source="fuzz", window=NIGHT)
    out = Outcome()
    _events(out, [checker.check(line, line=n) for n, line in enumerate(data.split(b"\n"), 1) if line.strip()])
    return out


def _jsonl_seeds() -> list[bytes]:
    t = START + timedelta(seconds=30)
    evs: list[E.Event] = [
        E.PolarPlots(t=t, sensor_id="r1", sensor_lat=55.7, sensor_lon=37.6, sensor_alt=150.0, range_m=[5000.0, 7000.0], azimuth_deg=[40.0, 41.0], elevation_deg=[2.0, 1.0], sigma_range_m=20.0, sigma_azimuth_deg=0.3, sigma_elevation_deg=0.5, identity=["", "ABC"]),
        E.PositionPlots(t=t, sensor_id="rf1", lat=[55.75], lon=[37.62], alt=[200.0], sigma_m=[100.0], signature=["drone_c2_link"]),
        E.AdsbReport(t=t, icao24="4ca123", callsign="AFL123", lat=55.9, lon=37.4, alt=900.0, ve=100.0, vn=10.0, vu=-2.0),
        E.RemoteIdReport(t=t, uas_id="UAS1", lat=55.7, lon=37.6, alt=120.0, operator_id="OP"),
        E.SensorStatus(t=t, sensor_id="r1", status="degraded", detail="rain"),
        E.KillReported(t=t, report_id="K1", lat=55.75, lon=37.62, alt=300.0, track_ref="T0001"),
        E.KillWithdrawn(t=t, report_id="K1", reason="duplicate"),
        E.CrewReported(t=t, crew_id="C1", site_id="S1", status="en_route", eta_s=300.0),
        E.ClaimRecorded(t=t, claim_id="CL1", source="press", what="kill", count=3, where="centre", lat=55.7, lon=37.6, radius_m=500.0),
    ]
    return [E.encode(ev) for ev in evs]


# ----------------------------------------------------------------------------- the track CSV


def track_csv(data: bytes) -> Outcome:
    """``skywarden track``: the reader, then the tracker over what it took."""
    out = Outcome()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        out.reasons.append("not UTF-8")
        return out
    try:
        with RowReader(io.BytesIO(data), 50.0, name="fuzz.csv") as reader:
            # a frame per origin, reused (see cached_frames)
            frame = _frame(*origin_of(io.BytesIO(data), 50.0)) if reader.geodetic else None
            retrack(reader, TrackerConfig(), open_sink(io.BytesIO(), "csv", reader, frame), frame)
    except RecordingError as exc:
        out.reasons.append("no usable rows" if "no usable rows" in str(exc) else _norm(str(exc).split(": ", 1)[-1]))
        return out
    out.accepted += reader.rows_used
    out.reasons += [_norm(why) for _, why in reader.problems]
    return out


CSV_SEEDS = [
    b"t,sensor_id,x,y,z,sigma\n0,r1,100,200,50,20\n0,r1,900,100,60,20\n1,r1,110,205,50,20\n2,r1,120,210,51,20\n3,r1,130,215,52,20\n",
    b"t,sensor_id,lat,lon,alt\n2025-03-10T21:00:00Z,rf1,55.70,37.60,100\n2025-03-10T21:00:01Z,rf1,55.7001,37.6001,101\n2025-03-10T21:00:02Z,rf1,55.7002,37.6002,102\n",
]


# ----------------------------------------------------------------------------- files


_dir: list[Path] = []  # one folder for the process's files (a folder per input costs more than the load)


def _with_file(data: bytes, suffix: str, load: Callable[[Path], object]) -> Outcome:
    out = Outcome()
    if not _dir:
        shm = Path("/dev/shm")  # noqa: S108 - memory, where there is one: opening a file on disk costs more than the load
        _dir.append(Path(tempfile.mkdtemp(prefix="skywarden-fuzz-", dir=shm if shm.is_dir() else None)))
    path = _dir[0] / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        load(path)
    except ConfigError as exc:  # ScenarioError is one
        out.reasons.append(_norm(getattr(exc, "what", str(exc).split(": ", 1)[-1])))
        return out
    out.accepted += 1
    return out


def scenario(data: bytes) -> Outcome:
    return _with_file(data, ".toml", load_scenario)


def policy(data: bytes) -> Outcome:
    return _with_file(data, ".toml", load_rules)


def sensors(data: bytes) -> Outcome:
    return _with_file(data, ".toml", load_sensors)


SMALL_SCENARIO = b"""[night]
name = "fuzz"
timezone = "Europe/Moscow"
start = "2025-03-11T00:00:00+03:00"
end = "2025-03-11T01:00:00+03:00"
tick_s = 1.0

[city]
name = "City"
lat = 55.75
lon = 37.62

[wind]
speed_ms = 6.0
from_deg = 250.0

[[zones]]
id = "centre"
name = "Centre"
kind = "city_centre"
circle = { lat = 55.75, lon = 37.62, radius_m = 3000.0 }

[[sensors]]
id = "r1"
kind = "radar"
lat = 55.8
lon = 37.5
range_m = 40000.0
period_s = 2.0
sigma_range_m = 20.0

[[drone_types]]
id = "d"
mass_kg = 50.0
drag_area_m2 = 0.5
cruise_speed_ms = 45.0
altitude_m = 300.0

[[waves]]
id = "w1"
launch = "00:10"
count = 3
drone_type = "d"
from_bearing_deg = 200.0
launch_range_m = 60000.0
targets = ["centre"]
intercept_range_m = [10000.0, 0.0, 5000.0]

[[birds]]
id = "b"
lat = 55.7
lon = 37.6
count = 5
"""

SENSORS_SEED = b"""[[radar]]
sac = 25
sic = 10
lat = 55.9
lon = 37.4
alt = 190.0
sigma_range_m = 30.0

[[sapient]]
node_id = "node-1"
lat = 55.7
lon = 37.6
alt = 150.0
"""


# ----------------------------------------------------------------------------- wire decoders


def _decoder(make: Callable[[], Decoder]) -> Callable[[bytes], Outcome]:
    def run(data: bytes) -> Outcome:
        dec = make()
        checker = ReportChecker(source="fuzz", reorder_tolerance_s=1e9)
        out = Outcome()
        half = len(data) // 2  # fed in two pieces: partial frames wait for the rest
        made = dec.feed(data[:half], now=START) + dec.feed(data[half:], now=START) + dec.close(now=START)
        _events(out, [ev if isinstance(ev, E.ReportRejected) else checker.check_event(ev) for ev in made])
        return out

    return run


def _wire_seeds() -> dict[str, list[bytes]]:
    from tests.test_ingest_fuzz import SEEDS

    adsb_avr = b"".join(b"*" + s[-14:].hex().encode() + b";\n" for s in SEEDS["adsb"])
    rid_json = b'{"type": "BasicID", "UASID": "U1"}\n{"type": "Location", "Latitude": 55.7, "Longitude": 37.6, "AltitudeGeo": 120.0, "TimeStamp": 600.0}\n'
    adsb_json = b"".join(b'{"timestamp": 1741640400.5, "frame": "' + s[-14:].hex().encode() + b'"}\n' for s in SEEDS["adsb"])
    return {
        "adsb-beast": [b"".join(SEEDS["adsb"])], "adsb-avr": [adsb_avr], "adsb-jsonl": [adsb_json],
        "asterix": SEEDS["asterix"], "sapient": SEEDS["sapient"],
        "remoteid": SEEDS["remoteid"], "remoteid-jsonl": [rid_json],
    }  # fmt: skip


_frames: dict[tuple[float, float], LocalFrame] = {}


def _frame(lat0: float, lon0: float) -> LocalFrame:
    key = (lat0, lon0)
    frame = _frames.get(key)
    if frame is None:
        if len(_frames) >= 256:
            _frames.clear()
        frame = _frames[key] = LocalFrame(lat0, lon0)
    return frame


@contextlib.contextmanager
def cached_frames() -> Iterator[None]:
    """Reuse local frames by origin while fuzzing: building pyproj's transformers is some 25 ms
    of every scenario load and re-track, the same work for the same origin, and would bound the
    fuzzer to 40 inputs a second. What is checked is unchanged."""
    with mock.patch("skywarden.scenario.load.LocalFrame", _frame):
        yield


@dataclass(frozen=True)
class Edge:
    name: str
    run: Callable[[bytes], Outcome]
    seeds: Callable[[], list[bytes]]


def edges() -> dict[str, Edge]:
    wire = _wire_seeds()
    makers: dict[str, Callable[[], Decoder]] = {
        "adsb-beast": lambda: AdsbDecoder("beast", start=START),
        "adsb-avr": lambda: AdsbDecoder("avr", start=START),
        "adsb-jsonl": lambda: AdsbDecoder("jsonl"),
        "asterix": lambda: AsterixDecoder(SITES, start=START),
        "sapient": lambda: SapientDecoder(max_message=4096),
        "remoteid": lambda: RemoteIdDecoder(start=START),
        "remoteid-jsonl": lambda: RemoteIdDecoder("jsonl", start=START),
    }
    out = {
        "jsonl": Edge("jsonl", jsonl, _jsonl_seeds),
        "track-csv": Edge("track-csv", track_csv, lambda: list(CSV_SEEDS)),
        "scenario": Edge("scenario", scenario, lambda: [SMALL_SCENARIO]),
        "policy": Edge("policy", policy, lambda: [default_policy_path().read_bytes()]),
        "sensors": Edge("sensors", sensors, lambda: [SENSORS_SEED]),
    }
    for name, make in makers.items():
        out[name] = Edge(name, _decoder(make), lambda name=name: list(wire[name]))  # type: ignore[misc]
    return out


# ----------------------------------------------------------------------------- mutations

INTERESTING = [
    b"nan", b"NaN", b"-nan", b"inf", b"-inf", b"Infinity", b"1e308", b"-1e308", b"1e999", b"0", b"-0", b"0.0",
    b"1e-320", b"-1", b"99999999999999999999999", b'"nan"', b'"inf"', b'""', b"null", b"true", b"[]", b"{}",
    "\u0661\u0662\u0663".encode(), b"9999-12-31T23:59:59Z", b"1969-12-31T23:59:59Z", b"2025-03-10T21:00:30",
]
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_STRING = re.compile(rb'"[^"\n]{0,40}"')


def mutate(data: bytes, rng: random.Random, steps: int, others: list[bytes]) -> bytes:
    """``steps`` mutations of ``data``: bytes flipped, inserted, deleted or repeated; a number
    or a string replaced by a hostile value (NaN, infinities, 1e308, other scripts' digits,
    dates in 1969 and 9999, a long string); nesting; invalid UTF-8; a splice with another seed;
    truncation."""
    buf = bytearray(data)
    for _ in range(steps):
        op = rng.randrange(12)
        n = len(buf)
        if op == 0 and n:
            buf[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            buf[rng.randrange(n)] = rng.randrange(256)
        elif op == 2:
            i = rng.randrange(n + 1)
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3 and n:
            i = rng.randrange(n)
            del buf[i : i + rng.randint(1, 32)]
        elif op == 4 and n:
            i = rng.randrange(n)
            j = min(n, i + rng.randint(1, 64))
            buf[j:j] = buf[i:j] * rng.randint(1, 64)
        elif op in (5, 6):  # a number, hostile
            found = list(_NUMBER.finditer(bytes(buf)))
            if found:
                m = rng.choice(found)
                buf[m.start() : m.end()] = rng.choice(INTERESTING)
        elif op == 7:  # a string, long
            found = list(_STRING.finditer(bytes(buf)))
            if found:
                m = rng.choice(found)
                size = rng.choice([300, 9000]) if rng.random() < 0.95 else rng.choice([70_000, 1_100_000])
                buf[m.start() : m.end()] = b'"' + b"A" * size + b'"'
        elif op == 8:
            i = rng.randrange(n + 1)
            k = rng.choice([10, 100, 3000]) if rng.random() < 0.95 else 100_000
            buf[i:i] = rng.choice([b"[", b"{", b'{"a":', b"[["]) * k
        elif op == 9:
            i = rng.randrange(n + 1)
            buf[i:i] = rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x00", b"\r", b"\n"])
        elif op == 10 and others:
            other = rng.choice(others)
            i, j = rng.randrange(n + 1), rng.randrange(len(other) + 1)
            buf = buf[:i] + other[j:]
        elif op == 11 and n:
            del buf[rng.randrange(n) :]
    return bytes(buf)
