"""SAPIENT (BSI Flex 335 v2.0) messages, into plots and ``sensor_status``.

A SAPIENT stream (a TCP connection, or a recording of one) is a sequence of messages, each a
4-byte little-endian length and a serialized ``SapientMessage`` (the protobuf classes of the
``sapient-msg`` package, MIT licence). A length above ``max_message`` is refused before anything
is allocated for it: the decoder rejects it and skips that many bytes as they arrive, so a
hostile 2 GB prefix costs nothing but the skipping.

* ``DetectionReport`` with a ``location`` (latitude/longitude in degrees or radians, metres;
  WGS84) becomes a one-plot ``PositionPlots``; with a ``range_bearing`` (true north, degrees
  or radians, metres or kilometres) a one-plot ``PolarPlots`` from the node's location, which
  comes from the sensors file (``[[sapient]]``) or else the node's latest ``StatusReport``.
  1-sigma errors come from the report (``*_error``) or defaults. The node's most confident
  classification becomes the plot's ``class_hint`` (drone, bird, manned_aircraft, unknown), and
  the report's ``id`` (e.g. a tail number) its ``identity``.
* ``StatusReport`` becomes ``sensor_status``: ``SYSTEM_OK`` up, ``SYSTEM_WARNING`` degraded,
  ``SYSTEM_ERROR`` and ``SYSTEM_GOODBYE`` down. Its ``node_location`` is remembered.
* ``Registration`` remembers the node's type and name; alerts, tasks, acknowledgements and
  errors make no event (counted as ignored).

A listener sees every message with a node id through ``on_message`` (to answer registrations
and tasks, and to know that the node is alive). The message's ``timestamp`` dates its event; a
message without one is dated by the listener's clock when there is one, and is otherwise
rejected. The sensor id is the sensors file's ``id`` for the node, or ``sapient-`` and the
node id's first 8 characters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from skywarden import events as E
from skywarden.events import SensorKind
from skywarden.ingest.sensors import SensorSites
from skywarden.ingest.wire import Decoder, utc_from_unix

__all__ = ["MAX_MESSAGE", "SapientDecoder", "class_hint"]

MAX_MESSAGE = 1 << 20  # bytes: SAPIENT messages are a few hundred bytes; 1 MiB is generous
MAX_NODES = 10_000
DEFAULT_SIGMA_M = 50.0
DEFAULT_SIGMA_RANGE_M = 20.0
DEFAULT_SIGMA_ANGLE_DEG = 1.0
UNKNOWN_ELEVATION_SIGMA_DEG = 10.0  # a range/bearing report without an elevation

_KIND_OF_NODE_TYPE: dict[int, SensorKind] = {2: "radar", 4: "camera", 6: "acoustic", 8: "rf"}
_STATUS = {1: "up", 2: "degraded", 3: "down", 5: "down"}


def class_hint(label: str) -> str:
    """A SAPIENT classification label as one of the tracker's classes."""
    s = label.lower()
    if any(w in s for w in ("uav", "uas", "drone", "quadcopter", "multirotor", "rpas")):
        return "drone"
    if "bird" in s:
        return "bird"
    if any(w in s for w in ("aircraft", "airplane", "aeroplane", "helicopter", "fixed wing", "rotary wing", "airliner")):
        return "manned_aircraft"
    return "unknown"


@dataclass
class _Node:
    kind: SensorKind | None = None
    name: str = ""
    location: tuple[float, float, float] | None = None


class SapientDecoder(Decoder):
    """Incremental decoder of one SAPIENT stream (see the module docstring)."""

    def __init__(self, sites: SensorSites | None = None, source: str = "sapient", max_message: int = MAX_MESSAGE) -> None:
        super().__init__(source)
        from google.protobuf.message import DecodeError
        from sapient_msg.bsi_flex_335_v2_0 import sapient_message_pb2

        self._Message = sapient_message_pb2.SapientMessage
        self._parse_errors = (DecodeError, RuntimeError, ValueError)
        self.sites = sites or SensorSites.empty()
        self.max_message = max_message
        self.nodes: dict[str, _Node] = {}
        self._buf = bytearray()
        self._skip = 0  # bytes of a refused message still to pass over

    # ------------------------------------------------------------------ framing

    def _feed(self, data: bytes, now: datetime | None) -> None:
        view = memoryview(data)
        if self._skip:
            n = min(self._skip, len(view))
            self._skip -= n
            view = view[n:]
        self._buf += view
        buf = self._buf
        pos = 0
        while len(buf) - pos >= 4:
            size = int.from_bytes(buf[pos : pos + 4], "little")
            if size > self.max_message:
                self._reject("too long", f"length prefix {size} exceeds {self.max_message} bytes: skipped", bytes(buf[pos : pos + 4]), now)
                pos += 4
                n = min(size, len(buf) - pos)
                pos += n
                self._skip = size - n
                continue
            if len(buf) - pos - 4 < size:
                break
            self._message(bytes(buf[pos + 4 : pos + 4 + size]), now)
            pos += 4 + size
        del buf[:pos]

    def _close(self, now: datetime | None) -> None:
        if self._buf:
            self._reject("truncated", f"{len(self._buf)} bytes of an unfinished message", bytes(self._buf[:64]), now)
        elif self._skip:
            self._ignore("end inside a refused message")

    def _reset(self) -> None:
        self._buf.clear()
        self._skip = 0

    def pending(self) -> int:
        return len(self._buf) + self._skip

    def on_message(self, node_id: str, what: str | None, msg: Any, now: datetime | None) -> None:
        """Every parsed message with a node id, before it is read (``what``: the content's
        field name, e.g. ``"registration"``, ``"task"``; None when empty). Here: nothing."""

    def sensor_id(self, node_id: str) -> str:
        """The sensor id that the node's events carry."""
        node = self.nodes.get(node_id) or _Node()
        return self._sensor(node_id, node)[0]

    # ------------------------------------------------------------------ messages

    def _message(self, raw: bytes, now: datetime | None) -> None:
        msg = self._Message()
        try:
            msg.ParseFromString(raw)
        except self._parse_errors as exc:
            self._reject("protobuf", str(exc) or "not a SapientMessage", raw, now)
            return
        what = msg.WhichOneof("content")
        node_id = msg.node_id
        if not node_id:
            self._reject("no node id", f"{what or 'empty'} message without node_id", raw, now)
            return
        self.on_message(node_id, what, msg, now)
        if what not in ("registration", "status_report", "detection_report"):
            self._ignore(what or "empty message")
            return
        t = now
        if msg.HasField("timestamp"):
            try:
                t = utc_from_unix(msg.timestamp.seconds + msg.timestamp.nanos * 1e-9)
            except ValueError as exc:
                self._reject("time", str(exc), raw, now)
                return
        if t is None:
            self._reject("no time", f"{what} without a timestamp", raw, now)
            return
        node = self.nodes.get(node_id)
        if node is None:
            if len(self.nodes) >= MAX_NODES:
                self.nodes.pop(next(iter(self.nodes)))
            node = self.nodes[node_id] = _Node()
        if what == "registration":
            reg = msg.registration
            for d in reg.node_definition:
                node.kind = node.kind or _KIND_OF_NODE_TYPE.get(d.node_type)
            node.name = reg.short_name or reg.name
            self._ignore("registration")
        elif what == "status_report":
            self._status(node_id, node, msg.status_report, t, raw, now)
        else:
            self._detection(node_id, node, msg.detection_report, t, raw, now)

    def _sensor(self, node_id: str, node: _Node) -> tuple[str, SensorKind]:
        site = self.sites.sapient.get(node_id)
        if site is not None:
            return site.sensor_id, node.kind or site.kind
        return f"sapient-{node_id[:8]}", node.kind or "radar"

    def _status(self, node_id: str, node: _Node, rep: Any, t: datetime, raw: bytes, now: datetime | None) -> None:
        if rep.HasField("node_location"):
            loc = _lat_lon(rep.node_location)
            if isinstance(loc, str):
                self._ignore("node location " + loc)
            else:
                node.location = loc[:3]
        status = _STATUS.get(rep.system)
        if status is None:
            self._ignore("status without a system state")
            return
        sid, _ = self._sensor(node_id, node)
        detail = "; ".join(s.status_value for s in rep.status if s.status_value)[:500]
        self._emit(E.SensorStatus(t=t, sensor_id=sid, status=status, detail=detail))  # type: ignore[arg-type]  # _STATUS holds only the Literal's values

    def _detection(self, node_id: str, node: _Node, det: Any, t: datetime, raw: bytes, now: datetime | None) -> None:
        sid, kind = self._sensor(node_id, node)
        hint = ""
        if det.classification:
            best = max(det.classification, key=lambda c: c.confidence)
            hint = class_hint(best.type)
        ident = det.id[:64]
        where = det.WhichOneof("location_oneof")
        if where == "location":
            loc = _lat_lon(det.location)
            if isinstance(loc, str):
                self._reject("location", loc, raw, now)
                return
            lat, lon, alt, sigma = loc
            self._emit(E.PositionPlots(
                t=t, sensor_id=sid, sensor_kind=kind, lat=[lat], lon=[lon], alt=[alt], sigma_m=[sigma],
                identity=[ident] if ident else None, class_hint=[hint] if hint else None,
            ))
        elif where == "range_bearing":
            site = self.sites.sapient.get(node_id)
            origin = (site.lat, site.lon, site.alt) if site is not None else node.location
            if origin is None:
                self._reject("node location", f"range/bearing from node {node_id} whose location is not known (sensors file or status report)", raw, now)
                return
            rb = _range_bearing(det.range_bearing)
            if isinstance(rb, str):
                self._reject("range_bearing", rb, raw, now)
                return
            rng, az, el, s_r, s_az, s_el = rb
            self._emit(E.PolarPlots(
                t=t, sensor_id=sid, sensor_kind=kind, sensor_lat=origin[0], sensor_lon=origin[1], sensor_alt=origin[2],
                range_m=[rng], azimuth_deg=[az], elevation_deg=[el],
                sigma_range_m=s_r, sigma_azimuth_deg=s_az, sigma_elevation_deg=s_el,
                identity=[ident] if ident else None, class_hint=[hint] if hint else None,
            ))
        else:
            self._reject("location", "detection without location or range_bearing", raw, now)


def _finite(*vals: float) -> bool:
    return all(math.isfinite(v) for v in vals)


def _lat_lon(loc: Any) -> tuple[float, float, float, float] | str:
    """(lat, lon, alt, 1-sigma m) of a Location, or why not."""
    cs = loc.coordinate_system
    if cs not in (1, 2):
        return f"coordinate system {cs} is not latitude/longitude (UTM and unspecified are not read)"
    if not (loc.HasField("x") and loc.HasField("y")):
        return "location without x (longitude) and y (latitude)"
    lon, lat, alt = loc.x, loc.y, loc.z if loc.HasField("z") else 0.0
    ex, ey = (loc.x_error if loc.HasField("x_error") else None), (loc.y_error if loc.HasField("y_error") else None)
    if cs == 2:
        lat, lon = math.degrees(lat), math.degrees(lon)
        ex = None if ex is None else math.degrees(ex)
        ey = None if ey is None else math.degrees(ey)
    if not _finite(lat, lon, alt) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return f"({lat}, {lon}) is not on Earth"
    errs = []
    if ey is not None:
        errs.append(abs(ey) * 111_320.0)
    if ex is not None:
        errs.append(abs(ex) * 111_320.0 * math.cos(math.radians(lat)))
    sigma = max(errs) if errs else DEFAULT_SIGMA_M
    if not math.isfinite(sigma) or sigma <= 0:
        sigma = DEFAULT_SIGMA_M
    return lat, lon, alt, max(sigma, 1.0)


def _range_bearing(rb: Any) -> tuple[float, float, float, float, float, float] | str:
    cs, datum = rb.coordinate_system, rb.datum
    if cs not in (1, 2, 3, 4):
        return f"coordinate system {cs} is not set"
    if datum not in (0, 1):
        return "bearing not from true north (magnetic, grid and platform datums are not read)"
    if not (rb.HasField("azimuth") and rb.HasField("range")):
        return "range/bearing without azimuth and range"
    rad, km = cs in (2, 4), cs in (3, 4)
    ang = math.degrees if rad else float
    dist = 1000.0 if km else 1.0
    az, rng = ang(rb.azimuth), rb.range * dist
    el = ang(rb.elevation) if rb.HasField("elevation") else 0.0
    s_r = rb.range_error * dist if rb.HasField("range_error") else DEFAULT_SIGMA_RANGE_M
    s_az = ang(rb.azimuth_error) if rb.HasField("azimuth_error") else DEFAULT_SIGMA_ANGLE_DEG
    s_el = ang(rb.elevation_error) if rb.HasField("elevation_error") else (DEFAULT_SIGMA_ANGLE_DEG if rb.HasField("elevation") else UNKNOWN_ELEVATION_SIGMA_DEG)
    if not _finite(az, rng, el, s_r, s_az, s_el) or rng <= 0 or abs(el) > 90:
        return f"range {rng}, azimuth {az}, elevation {el} are not a direction and a distance"
    if min(s_r, s_az, s_el) <= 0:
        s_r, s_az = s_r if s_r > 0 else DEFAULT_SIGMA_RANGE_M, s_az if s_az > 0 else DEFAULT_SIGMA_ANGLE_DEG
        s_el = s_el if s_el > 0 else DEFAULT_SIGMA_ANGLE_DEG
    return rng, az % 360.0, el, s_r, s_az, s_el
