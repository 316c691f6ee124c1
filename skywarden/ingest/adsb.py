"""Raw Mode S / ADS-B (1090 MHz extended squitter) from receivers, into ``adsb`` reports.

Three framings, all fed incrementally (``AdsbDecoder(framing=...)``):

* ``beast``: the receivers' binary stream (readsb/dump1090 port 30005). Each frame is
  ``0x1a``, a type (``'1'`` Mode A/C, ``'2'`` Mode S short, ``'3'`` Mode S long, ``'4'``
  status), a 48-bit 12 MHz timestamp, a signal byte and the message; every ``0x1a`` inside is
  doubled.
* ``avr``: text lines ``*8D4840D6...;`` and ``@0123456789AB8D4840D6...;`` (a 48-bit 12 MHz
  timestamp before the message).
* ``jsonl``: one JSON object per line with the hex ``frame`` and its ``timestamp`` (UNIX
  seconds or ISO 8601), as jet1090 and rs1090 write them.

A receiver's 12 MHz counter is not a date: offline it counts from ``start`` (the UTC time of the
recording's first frame); live, frames are dated by the listener's ``now``.

Each message's fields (CRC, type code, altitude, callsign, velocity, the CPR-coded position) are
decoded by rs1090 (MIT licence). The position needs state across messages, which is kept here
per aircraft: a globally unambiguous fix from an even and an odd frame at most 10 s apart, then
each later frame decoded locally against the aircraft's last fix (DO-260B A.1.7). One
``AdsbReport`` is made per position fix, with the aircraft's latest callsign and velocity.
Altitude: the GNSS height when the position frame carries one (type codes 20-22), else the
barometric altitude plus the latest GNSS-minus-baro difference the velocity frames gave
(without one, the barometric altitude as it is).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

import msgspec
import rs1090

from skywarden import events as E
from skywarden.ingest.wire import EPOCH, Decoder, unix_time

__all__ = ["AdsbDecoder", "Framing", "cpr_global", "cpr_local", "crc24", "cpr_nl"]

Framing = Literal["beast", "avr", "jsonl"]

FT = 0.3048
KT = 1852.0 / 3600.0
FPM = FT / 60.0
CLOCK_HZ = 12e6  # Beast and AVR timestamps
PAIR_S = 10.0  # an even and an odd frame further apart than this do not make a global fix
LOCAL_S = 60.0  # a fix older than this is no reference for local decoding
MAX_LINE = 1024  # a text line longer than this without its end is refused
MAX_AIRCRAFT = 100_000  # aircraft state kept; the oldest is forgotten beyond this
_BEAST_LEN = {0x31: 2, 0x32: 7, 0x33: 14, 0x34: 14}  # payload bytes after timestamp and signal

_MODES_PARITY = 0xFFF409  # CRC-24 generator of Mode S (bit 24 implied)


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        c = byte << 16
        for _ in range(8):
            c = ((c << 1) ^ _MODES_PARITY) if c & 0x800000 else (c << 1)
        table.append(c & 0xFFFFFF)
    return table


_CRC_TABLE = _crc_table()


def crc24(data: bytes) -> int:
    """Mode S CRC-24 remainder over ``data`` (0 for an extended squitter received intact)."""
    c = 0
    t = _CRC_TABLE
    for b in data:
        c = ((c << 8) & 0xFFFFFF) ^ t[((c >> 16) ^ b) & 0xFF]
    return c


# ---------------------------------------------------------------------------- CPR (DO-260B A.1.7)

_NZ = 15


def cpr_nl(lat: float) -> int:
    """Number of longitude zones at this latitude (the NL function)."""
    a = abs(lat)
    if a >= 87.0:
        return 2 if a == 87.0 else 1
    if a == 0.0:
        return 59
    c = 1.0 - (1.0 - math.cos(math.pi / (2 * _NZ))) / math.cos(math.pi * a / 180.0) ** 2
    return int(math.floor(2 * math.pi / math.acos(c)))


def cpr_global(
    even: tuple[int, int], odd: tuple[int, int], latest_odd: bool
) -> tuple[float, float] | None:
    """The airborne position from an even and an odd frame's 17-bit (lat, lon) CPR values;
    ``latest_odd`` says which frame is the newer (its position is returned). ``None`` when the
    two lie in different latitude zones (the aircraft crossed one between them)."""
    lat_e, lon_e = even[0] / 131072.0, even[1] / 131072.0
    lat_o, lon_o = odd[0] / 131072.0, odd[1] / 131072.0
    j = math.floor(59 * lat_e - 60 * lat_o + 0.5)
    rlat_e = 6.0 * (j % 60 + lat_e)
    rlat_o = (360.0 / 59) * (j % 59 + lat_o)
    if rlat_e >= 270.0:
        rlat_e -= 360.0
    if rlat_o >= 270.0:
        rlat_o -= 360.0
    nl = cpr_nl(rlat_e)
    if nl != cpr_nl(rlat_o):
        return None
    m = math.floor(lon_e * (nl - 1) - lon_o * nl + 0.5)
    if latest_odd:
        lat, ni, lon_c = rlat_o, max(nl - 1, 1), lon_o
    else:
        lat, ni, lon_c = rlat_e, max(nl, 1), lon_e
    lon = (360.0 / ni) * (m % ni + lon_c)
    if lon >= 180.0:
        lon -= 360.0
    return lat, lon


def cpr_local(cpr: tuple[int, int], odd: bool, ref_lat: float, ref_lon: float) -> tuple[float, float]:
    """The airborne position of one frame decoded against a reference within 180 NM."""
    lat_c, lon_c = cpr[0] / 131072.0, cpr[1] / 131072.0
    i = 1 if odd else 0
    dlat = 360.0 / (60 - i)
    j = math.floor(ref_lat / dlat) + math.floor((ref_lat % dlat) / dlat - lat_c + 0.5)
    lat = dlat * (j + lat_c)
    ni = cpr_nl(lat) - i
    dlon = 360.0 / ni if ni > 0 else 360.0
    m = math.floor(ref_lon / dlon) + math.floor((ref_lon % dlon) / dlon - lon_c + 0.5)
    lon = dlon * (m + lon_c)
    if lon >= 180.0:
        lon -= 360.0
    elif lon < -180.0:
        lon += 360.0
    return lat, lon


# ---------------------------------------------------------------------------- per-aircraft state


@dataclass
class _Aircraft:
    callsign: str = ""
    even: tuple[datetime, int, int] | None = None
    odd: tuple[datetime, int, int] | None = None
    fix: tuple[datetime, float, float] | None = None
    vel: tuple[float, float, float | None] | None = None  # ve, vn, vu (m/s)
    geo_minus_baro_ft: float | None = None


class _JsonFrame(msgspec.Struct):
    frame: str
    timestamp: float | str


_json_frame = msgspec.json.Decoder(_JsonFrame)


class AdsbDecoder(Decoder):
    """Incremental decoder of one receiver's stream (see the module docstring)."""

    def __init__(self, framing: Framing = "beast", start: datetime | None = None, source: str | None = None) -> None:
        super().__init__(source or f"adsb:{framing}")
        if framing not in ("beast", "avr", "jsonl"):
            raise ValueError(f"unknown ADS-B framing {framing!r}")
        if start is not None and start.tzinfo is None:
            raise ValueError("start needs a time zone")
        self.framing: Framing = framing
        self.start = start
        self._clock0: int | None = None  # first 12 MHz count seen
        self._base = start  # the time of that count
        self._buf = bytearray()
        self._line = 0
        self.aircraft: dict[str, _Aircraft] = {}

    # ------------------------------------------------------------------ framing

    def _feed(self, data: bytes, now: datetime | None) -> None:
        self._buf += data
        if self.framing == "beast":
            self._beast(now)
        else:
            self._lines(now)

    def _close(self, now: datetime | None) -> None:
        if self.framing != "beast" and self._buf.strip():
            self._buf += b"\n"
            self._lines(now)
        elif self._buf:
            self._reject("truncated", f"{len(self._buf)} bytes after the last whole frame", bytes(self._buf[:64]), now)

    def _reset(self) -> None:
        self._buf.clear()

    def _beast(self, now: datetime | None) -> None:
        buf = self._buf
        pos, n = 0, len(buf)
        while pos < n:
            if buf[pos] != 0x1A:
                nxt = buf.find(b"\x1a", pos)
                end = n if nxt < 0 else nxt
                self._reject("beast sync", f"{end - pos} bytes outside a frame", bytes(buf[pos : min(end, pos + 64)]), now)
                pos = end
                continue
            if pos + 1 >= n:
                break
            kind = buf[pos + 1]
            size = _BEAST_LEN.get(kind)
            if size is None:
                # "1a 1a" outside a frame, or an unknown type: skip to the next marker
                nxt = buf.find(b"\x1a", pos + 2)
                end = n if nxt < 0 else nxt
                self._reject("beast type", f"frame type 0x{kind:02x}", bytes(buf[pos : min(end, pos + 64)]), now)
                pos = end
                continue
            want = 7 + size  # timestamp, signal, message
            body = buf[pos + 2 : pos + 2 + want]
            if len(body) == want and 0x1A not in body:
                frame, used = bytes(body), 2 + want
            else:
                got = _unescape(buf, pos + 2, want)
                if got is None:
                    break  # the rest has not come yet
                if isinstance(got, int):  # a lone 0x1a: the frame was cut short, resync there
                    self._reject("beast frame", "cut short by the next frame marker", bytes(buf[pos:got]), now)
                    pos = got
                    continue
                frame, used = got
            pos += used
            if kind == 0x34:
                self._ignore("beast status frame")
                continue
            if kind == 0x31:
                self._ignore("Mode A/C")
                continue
            clock = int.from_bytes(frame[0:6], "big")
            self._message(frame[7:], self._counter_time(clock, now), frame, now)
        del buf[:pos]

    def _lines(self, now: datetime | None) -> None:
        buf = self._buf
        start = 0
        while True:
            end = buf.find(b"\n", start)
            if end < 0:
                break
            line = bytes(buf[start:end]).strip()
            start = end + 1
            self._line += 1
            if line:
                if self.framing == "avr":
                    self._avr(line, now)
                else:
                    self._json(line, now)
        del buf[:start]
        if len(buf) > MAX_LINE:
            self._reject("line too long", f"over {MAX_LINE} bytes without a line end", bytes(buf[:64]), now)
            buf.clear()

    def _avr(self, line: bytes, now: datetime | None) -> None:
        if len(line) < 2 or line[-1:] != b";" or line[:1] not in (b"*", b"@"):
            self._reject("avr syntax", "not *HEX; or @HEX;", line, now)
            return
        text = line[1:-1]
        try:
            raw = bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            self._reject("avr syntax", "not hexadecimal", line, now)
            return
        if line[:1] == b"@":
            if len(raw) < 7:
                self._reject("avr syntax", "timestamp without a message", line, now)
                return
            t = self._counter_time(int.from_bytes(raw[:6], "big"), now)
            raw = raw[6:]
        else:
            t = now or self.last_t or self.start
        self._message(raw, t, line, now)

    def _json(self, line: bytes, now: datetime | None) -> None:
        try:
            obj = _json_frame.decode(line)
            raw = bytes.fromhex(obj.frame)
            ts = obj.timestamp
            # a UNIX time stays a number until the frame makes a position (two frames in three don't)
            t: datetime | float = unix_time(float(ts)) if isinstance(ts, float | int) else datetime.fromisoformat(ts)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, OverflowError, RecursionError) as exc:
            # (RecursionError: an unknown field nested "[[[[..." deeper than the parser goes)
            self._reject("json syntax", str(exc), line, now)
            return
        if isinstance(t, datetime) and t.tzinfo is None:
            self._reject("json syntax", "timestamp without a zone", line, now)
            return
        # the hex as written goes to rs1090 when it is only hex digits (spaces are not)
        self._message(raw, t, line, now, obj.frame if len(obj.frame) == 2 * len(raw) else None)

    def _counter_time(self, clock: int, now: datetime | None) -> datetime | None:
        if now is not None:
            return now
        if self.start is None:
            return None
        if self._clock0 is None or clock < self._clock0:
            # the first frame, or the receiver restarted its counter: count from here
            self._clock0 = clock
            self._base = self.last_t or self.start
        assert self._base is not None
        return self._base + timedelta(seconds=(clock - self._clock0) / CLOCK_HZ)

    # ------------------------------------------------------------------ one Mode S message

    def _message(self, msg: bytes, t: datetime | float | None, raw: bytes, now: datetime | None, hexed: str | None = None) -> None:
        if len(msg) not in (7, 14):
            self._reject("length", f"{len(msg)} bytes is not a Mode S message (7 or 14)", raw, now)
            return
        df = msg[0] >> 3
        if df not in (17, 18):
            self._ignore(f"DF{df} (not an extended squitter)")
            return
        if len(msg) != 14:
            self._reject("length", f"DF{df} in a 7-byte frame", raw, now)
            return
        # rs1090 checks the CRC itself and answers None for a damaged frame, as for a DF18 that
        # is not ADS-B: the parity is computed here only then, to tell the two apart (once a frame
        # in Python, it was a fifth of the decoder's own time)
        # rs1090 types its answer as one TypedDict per message kind; read here as a plain dict
        fields = cast(dict[str, Any] | None, rs1090.decode(hexed if hexed is not None else msg.hex()))
        if not fields and crc24(msg) != 0:
            self._reject("crc", "CRC-24 parity does not match", raw, now)
            return
        if t is None:
            self._reject("no time", "a receiver counter without a start time (give --start)", raw, now)
            return
        if not fields:
            self._ignore("not ADS-B (DF18 non-ADS-B application)")
            return
        self._fields(fields, t, raw, now)

    def _fields(self, f: dict[str, Any], t: datetime | float, raw: bytes, now: datetime | None) -> None:
        icao = f.get("icao24")
        if not isinstance(icao, str):
            self._ignore("no 24-bit address")
            return
        ac = self.aircraft.get(icao)
        if ac is None:
            if len(self.aircraft) >= MAX_AIRCRAFT:
                self.aircraft.pop(next(iter(self.aircraft)))
            ac = self.aircraft[icao] = _Aircraft()
        bds = f.get("bds")
        if bds == "08":
            cs = f.get("callsign")
            if isinstance(cs, str):
                ac.callsign = cs.strip().rstrip("_#")
            self._ignore("identification")
        elif bds == "09":
            self._velocity(ac, f)
            self._ignore("velocity")
        elif bds == "05":
            self._position(icao, ac, f, t if isinstance(t, datetime) else EPOCH + timedelta(seconds=t), raw, now)
        elif bds == "06":
            self._ignore("surface position")
        else:
            self._ignore(f"BDS {bds}")

    def _velocity(self, ac: _Aircraft, f: dict[str, Any]) -> None:
        gmb = f.get("geo_minus_baro")
        if isinstance(gmb, int | float):
            ac.geo_minus_baro_ft = float(gmb)
        gs, trk = f.get("groundspeed"), f.get("track")
        if not isinstance(gs, int | float) or not isinstance(trk, int | float):
            return  # airspeed and heading: not a velocity over the ground
        vr = f.get("vertical_rate")
        rad = math.radians(trk)
        ac.vel = (
            gs * KT * math.sin(rad),
            gs * KT * math.cos(rad),
            vr * FPM if isinstance(vr, int | float) else None,
        )

    def _position(self, icao: str, ac: _Aircraft, f: dict[str, Any], t: datetime, raw: bytes, now: datetime | None) -> None:
        lat_c, lon_c, parity = f.get("lat_cpr"), f.get("lon_cpr"), f.get("parity")
        alt_ft = f.get("altitude")
        if not isinstance(lat_c, int) or not isinstance(lon_c, int) or parity not in ("even", "odd"):
            self._ignore("position without CPR")
            return
        odd = parity == "odd"
        if odd:
            ac.odd = (t, lat_c, lon_c)
        else:
            ac.even = (t, lat_c, lon_c)
        pos: tuple[float, float] | None = None
        if ac.fix is not None and abs((t - ac.fix[0]).total_seconds()) <= LOCAL_S:
            pos = cpr_local((lat_c, lon_c), odd, ac.fix[1], ac.fix[2])
        elif ac.even is not None and ac.odd is not None:
            if abs((ac.even[0] - ac.odd[0]).total_seconds()) > PAIR_S:
                self._ignore("awaiting a CPR pair")
                return
            pos = cpr_global(ac.even[1:], ac.odd[1:], latest_odd=odd)
            if pos is None:
                self._ignore("CPR pair across a latitude zone")
                return
        else:
            self._ignore("awaiting a CPR pair")
            return
        lat, lon = pos
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            self._reject("position", f"decoded ({lat:.5f}, {lon:.5f}) is not on Earth", raw, now)
            return
        if not isinstance(alt_ft, int | float):
            ac.fix = (t, lat, lon)
            self._ignore("position without altitude")
            return
        tc = f.get("tc")
        if isinstance(tc, int) and 20 <= tc <= 22:
            alt = alt_ft * FT  # GNSS height
        else:
            alt = (alt_ft + (ac.geo_minus_baro_ft or 0.0)) * FT
        ac.fix = (t, lat, lon)
        ve = vn = vu = None
        if ac.vel is not None:
            ve, vn, vu = ac.vel
        self._emit(E.AdsbReport(t=t, icao24=icao, callsign=ac.callsign, lat=lat, lon=lon, alt=alt, ve=ve, vn=vn, vu=vu))


def _unescape(buf: bytearray, pos: int, want: int) -> tuple[bytes, int] | int | None:
    """``want`` bytes of a Beast frame body from ``pos``, undoubling ``0x1a 0x1a``. Returns the
    bytes and how far the whole frame reached (from the marker), the index of a lone ``0x1a``
    that cut the frame short, or ``None`` when the buffer ends first."""
    out = bytearray()
    i, n = pos, len(buf)
    while len(out) < want:
        if i >= n:
            return None
        b = buf[i]
        if b == 0x1A:
            if i + 1 >= n:
                return None
            if buf[i + 1] != 0x1A:
                return i
            i += 1
        out.append(b)
        i += 1
    return bytes(out), i - pos + 2
