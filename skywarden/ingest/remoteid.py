"""Remote ID (ASTM F3411 / ASD-STAN prEN 4709-002) broadcasts, into ``remote_id`` reports.

Two inputs, fed incrementally:

* ``binary``: the 25-byte messages as receivers pass them on, single or in message packs
  (type 0xF: a header of 3 bytes, the message size 25 and the count, at most 9), back to back.
* ``jsonl``: one JSON object per line and message, with the field names of the opendroneid
  reference library: ``{"type": "BasicID", "UASID": ...}``, ``{"type": "Location",
  "Latitude": ..., "Longitude": ..., "AltitudeGeo": ..., "SpeedHorizontal": ...,
  "Direction": ..., "SpeedVertical": ..., "TimeStamp": ...}``, ``{"type": "System",
  "Timestamp": ...}``, ``{"type": "OperatorID", "OperatorId": ...}``; optional ``"sender"``
  (the transmitter, e.g. its MAC address) and ``"received"`` (UNIX seconds or ISO 8601) on any.

State is kept per sender (a pack or a line names one; a binary stream without one is one
sender): the latest UAS ID, operator ID and time reference. Each Location message makes one
``RemoteIdReport`` once the sender's UAS ID is known (a pack's messages are read before its
location is reported). The location's time is tenths of a second after the hour: the hour
comes from the reception time, else the System message's timestamp, else ``start``.
Height: the geodetic altitude (WGS84 ellipsoid). Unknown values (latitude and longitude 0,
altitude -1000 m, speed 255) are treated as such: a location without a position is ignored,
without a speed the report has no velocity.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import msgspec

from skywarden import events as E
from skywarden.ingest.wire import Decoder, utc_from_unix

__all__ = ["RemoteIdDecoder", "RID_EPOCH"]

MSG = 25
RID_EPOCH = 1546300800  # 2019-01-01T00:00:00Z: System message timestamps count from here
MAX_SENDERS = 100_000
MAX_LINE = 4096


@dataclass
class _Sender:
    uas_id: str = ""
    operator_id: str = ""
    ref: datetime | None = None  # the latest System timestamp


@dataclass(frozen=True)
class _Location:
    lat: float
    lon: float
    alt: float | None
    speed: float | None  # m/s over the ground
    track: float | None  # degrees from north
    vspeed: float | None  # m/s up
    tenths: int | None  # after the hour


class RemoteIdDecoder(Decoder):
    """Incremental decoder of Remote ID messages (see the module docstring)."""

    def __init__(self, framing: Literal["binary", "jsonl"] = "binary", start: datetime | None = None, source: str | None = None) -> None:
        super().__init__(source or f"remoteid:{framing}")
        if framing not in ("binary", "jsonl"):
            raise ValueError(f"unknown Remote ID framing {framing!r}")
        if start is not None and start.tzinfo is None:
            raise ValueError("start needs a time zone")
        self.framing = framing
        self.start = start
        self.senders: dict[str, _Sender] = {}
        self._buf = bytearray()

    # ------------------------------------------------------------------ framing

    def _feed(self, data: bytes, now: datetime | None) -> None:
        self._buf += data
        if self.framing == "binary":
            self._binary(now)
        else:
            self._lines(now)

    def feed_message(self, data: bytes, sender: str, now: datetime | None) -> list[E.InputEvent]:
        """One received broadcast (a message or a pack) from a named transmitter (a listener)."""
        try:
            size = self._unit(data, 0)
            if size is None or size != len(data):
                self._reject("length", f"{len(data)} bytes is not one message or pack", data, now)
            else:
                self._messages(data, sender, now)
        except Exception as exc:
            self._reject("internal", f"{type(exc).__name__}: {exc}", data, now)
        return self._take()

    def _close(self, now: datetime | None) -> None:
        if self.framing == "jsonl" and self._buf.strip():
            self._buf += b"\n"
            self._lines(now)
        elif self._buf:
            self._reject("truncated", f"{len(self._buf)} bytes of an unfinished message", bytes(self._buf[:64]), now)

    def _reset(self) -> None:
        self._buf.clear()

    def _unit(self, buf: bytes | bytearray, pos: int) -> int | None:
        """Bytes of the message or pack at ``pos`` (None: not known yet), -1 for a bad pack."""
        if (buf[pos] >> 4) != 0xF:
            return MSG
        if len(buf) - pos < 3:
            return None
        if buf[pos + 1] != MSG or not 1 <= buf[pos + 2] <= 9:
            return -1
        return 3 + MSG * buf[pos + 2]

    def _binary(self, now: datetime | None) -> None:
        buf = self._buf
        pos = 0
        while pos < len(buf):
            size = self._unit(buf, pos)
            if size is None or len(buf) - pos < max(size, 0):
                break
            if size < 0:
                self._reject("pack", f"message size {buf[pos + 1]} and count {buf[pos + 2]} are not a pack", bytes(buf[pos : pos + 3]), now)
                pos += MSG  # a pack header read as one message's worth: the stream resyncs on 25-byte steps
                continue
            self._messages(bytes(buf[pos : pos + size]), "", now)
            pos += size
        del buf[:pos]

    def _lines(self, now: datetime | None) -> None:
        buf = self._buf
        start = 0
        while (end := buf.find(b"\n", start)) >= 0:
            line = bytes(buf[start:end]).strip()
            start = end + 1
            if line:
                self._json(line, now)
        del buf[:start]
        if len(buf) > MAX_LINE:
            self._reject("line too long", f"over {MAX_LINE} bytes without a line end", bytes(buf[:64]), now)
            buf.clear()

    # ------------------------------------------------------------------ binary messages

    def _state(self, sender: str) -> _Sender:
        st = self.senders.get(sender)
        if st is None:
            if len(self.senders) >= MAX_SENDERS:
                self.senders.pop(next(iter(self.senders)))
            st = self.senders[sender] = _Sender()
        return st

    def _messages(self, data: bytes, sender: str, now: datetime | None) -> None:
        msgs = [data[3 + k * MSG : 3 + (k + 1) * MSG] for k in range(data[2])] if data[0] >> 4 == 0xF else [data]
        st = self._state(sender)
        locations: list[tuple[_Location, bytes]] = []
        for m in msgs:
            kind = m[0] >> 4
            if kind == 0:
                uas = _text(m[2:22])
                if uas:
                    st.uas_id = uas
                self._ignore("basic ID")
            elif kind == 1:
                loc = _location(m)
                if isinstance(loc, str):
                    self._reject("location", loc, m, now)
                elif loc is None:
                    self._ignore("location without a position")
                else:
                    locations.append((loc, m))
            elif kind == 4:
                ts = struct.unpack_from("<I", m, 20)[0]
                if ts:
                    st.ref = utc_from_unix(RID_EPOCH + ts)
                self._ignore("system")
            elif kind == 5:
                op = _text(m[2:22])
                if op:
                    st.operator_id = op
                self._ignore("operator ID")
            elif kind in (2, 3):
                self._ignore("authentication" if kind == 2 else "self ID")
            else:
                self._reject("message type", f"type {kind} is not an F3411 message", m, now)
        for loc, m in locations:
            self._report(st, loc, m, now)

    # ------------------------------------------------------------------ JSON messages

    def _json(self, line: bytes, now: datetime | None) -> None:
        try:
            obj = msgspec.json.decode(line)
        except msgspec.DecodeError as exc:
            self._reject("json syntax", str(exc), line, now)
            return
        except RecursionError:  # "[[[[..." within the line cap
            self._reject("json syntax", "nested too deep", line, now)
            return
        if not isinstance(obj, dict):
            self._reject("json syntax", "not an object", line, now)
            return
        try:
            self._json_message(obj, line, now)
        except KeyError as exc:
            self._reject("json field", f"missing {exc}", line, now)
        except (TypeError, ValueError, OverflowError) as exc:
            self._reject("json field", str(exc), line, now)

    def _json_message(self, obj: dict[str, Any], line: bytes, now: datetime | None) -> None:
        sender = str(obj.get("sender", ""))
        st = self._state(sender)
        rec = obj.get("received")
        if rec is not None:
            t = utc_from_unix(float(rec)) if isinstance(rec, int | float) else datetime.fromisoformat(str(rec))
            if t.tzinfo is None:
                raise ValueError("received time without a zone")
            now = t
        kind = obj.get("type")
        if kind == "BasicID":
            st.uas_id = _clean(str(obj["UASID"]))
            self._ignore("basic ID")
        elif kind == "OperatorID":
            st.operator_id = _clean(str(obj["OperatorId"]))
            self._ignore("operator ID")
        elif kind == "System":
            ts = obj.get("Timestamp")
            if isinstance(ts, int | float) and ts > 0:
                st.ref = utc_from_unix(RID_EPOCH + float(ts))
            self._ignore("system")
        elif kind == "Location":
            lat, lon = float(obj["Latitude"]), float(obj["Longitude"])
            if lat == 0 and lon == 0:
                self._ignore("location without a position")
                return
            ts = obj.get("TimeStamp")
            alt = obj.get("AltitudeGeo")
            loc = _Location(
                lat=lat, lon=lon,
                alt=float(alt) if isinstance(alt, int | float) and alt > -1000 else None,
                speed=_num(obj.get("SpeedHorizontal"), 254.25),
                track=_num(obj.get("Direction"), 360.0),
                vspeed=_num(obj.get("SpeedVertical"), 62.0, signed=True),
                tenths=int(round(float(ts) * 10)) if isinstance(ts, int | float) and 0 <= ts < 3600 else None,
            )
            self._report(st, loc, line, now)
        else:
            self._ignore(f"JSON type {kind!r}")

    # ------------------------------------------------------------------ reports

    def _report(self, st: _Sender, loc: _Location, raw: bytes, now: datetime | None) -> None:
        if not (-90 <= loc.lat <= 90 and -180 <= loc.lon <= 180) or not (math.isfinite(loc.lat) and math.isfinite(loc.lon)):
            self._reject("location", f"({loc.lat}, {loc.lon}) is not on Earth", raw, now)
            return
        if not st.uas_id:
            self._ignore("location before any basic ID")
            return
        if loc.alt is None:
            self._ignore("location without a geodetic altitude")
            return
        ref = now or st.ref or self.last_t or self.start
        if ref is None:
            self._reject("no time", "no reception time, System timestamp or start to date the location", raw, now)
            return
        if loc.tenths is None:
            t = ref
        else:
            hour = ref.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            t = min(
                (hour + timedelta(hours=h, seconds=loc.tenths / 10) for h in (-1, 0, 1)),
                key=lambda c: abs((c - ref).total_seconds()),
            )
        ve = vn = None
        if loc.speed is not None and loc.track is not None:
            r = math.radians(loc.track)
            ve, vn = loc.speed * math.sin(r), loc.speed * math.cos(r)
        self._emit(E.RemoteIdReport(t=t, uas_id=st.uas_id, lat=loc.lat, lon=loc.lon, alt=loc.alt, operator_id=st.operator_id, ve=ve, vn=vn, vu=loc.vspeed if ve is not None else None))


def _text(raw: bytes) -> str:
    return _clean(raw.split(b"\0", 1)[0].decode("ascii", "replace"))


def _clean(s: str) -> str:
    return "".join(ch for ch in s if ch.isprintable()).strip()[:64]


def _num(v: object, limit: float, signed: bool = False) -> float | None:
    if not isinstance(v, int | float) or not math.isfinite(v):
        return None
    if (abs(v) if signed else v) > limit or (not signed and v < 0):
        return None
    return float(v)


def _location(m: bytes) -> _Location | None | str:
    flags = m[1]
    ew, mult = (flags >> 1) & 1, flags & 1
    direction, speed_enc, vs_enc = m[2], m[3], struct.unpack_from("<b", m, 4)[0]
    lat_i, lon_i, _baro, geo, _height = struct.unpack_from("<iiHHH", m, 5)
    tenths = struct.unpack_from("<H", m, 21)[0]
    if lat_i == 0 and lon_i == 0:
        return None
    lat, lon = lat_i * 1e-7, lon_i * 1e-7
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return f"({lat}, {lon}) is not on Earth"
    track = direction + 180.0 * ew
    speed = None if speed_enc == 255 else (speed_enc * 0.75 + 255 * 0.25 if mult else speed_enc * 0.25)
    return _Location(
        lat=lat, lon=lon,
        alt=None if geo == 0 else geo * 0.5 - 1000.0,
        speed=speed,
        track=track if track < 360 else None,
        vspeed=None if vs_enc == 126 else vs_enc * 0.5,  # 63 m/s encoded is "unknown"
        tenths=None if tenths == 0xFFFF or tenths >= 36000 else tenths,
    )
