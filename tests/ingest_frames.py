"""Small encoders of the wire formats, for the decoders' round-trip tests and the benchmark.

Written from the standards (DO-260B for ADS-B, ASTM F3411-22a for Remote ID), independently of
the decoders under test: an ADS-B frame encoded here is checked by rs1090 too.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable

from skywarden.ingest.adsb import cpr_nl, crc24

# ---------------------------------------------------------------------------- Mode S / ADS-B

_CHARS = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"


def _df17(icao: int, me: int) -> bytes:
    head = bytes([0x8D]) + icao.to_bytes(3, "big") + me.to_bytes(7, "big")
    return head + crc24(head).to_bytes(3, "big")


def cpr_encode(lat: float, lon: float, odd: bool) -> tuple[int, int]:
    i = 1 if odd else 0
    dlat = 360.0 / (60 - i)
    yz = math.floor(131072 * (lat % dlat) / dlat + 0.5)
    rlat = dlat * (yz / 131072 + math.floor(lat / dlat))
    nl = cpr_nl(rlat) - i
    dlon = 360.0 / nl if nl > 0 else 360.0
    xz = math.floor(131072 * (lon % dlon) / dlon + 0.5)
    return yz % 131072, xz % 131072


def position_frame(icao: int, lat: float, lon: float, alt_ft: float, odd: bool, tc: int = 11) -> bytes:
    """DF17 airborne position (barometric, 25 ft steps; tc 20-22 for a GNSS height in metres
    is not encoded here)."""
    n = int(round((alt_ft + 1000) / 25))
    ac = ((n & 0x7F0) << 1) | 0x10 | (n & 0x0F)
    yz, xz = cpr_encode(lat, lon, odd)
    me = (tc << 51) | (ac << 36) | ((1 if odd else 0) << 34) | (yz << 17) | xz
    return _df17(icao, me)


def ident_frame(icao: int, callsign: str) -> bytes:
    cs = callsign.ljust(8)[:8]
    me = (4 << 51) | (0 << 48)
    for k, ch in enumerate(cs):
        me |= _CHARS.index(ch) << (42 - 6 * k)
    return _df17(icao, me)


def velocity_frame(icao: int, ve_kt: int, vn_kt: int, vr_fpm: int, geo_minus_baro_ft: int = 0) -> bytes:
    """DF17 airborne velocity, subtype 1 (ground speed); speeds in whole knots, rate in 64 fpm."""
    dew, vew = (1, -ve_kt) if ve_kt < 0 else (0, ve_kt)
    dns, vns = (1, -vn_kt) if vn_kt < 0 else (0, vn_kt)
    svr, vr = (1, -vr_fpm) if vr_fpm < 0 else (0, vr_fpm)
    sd, dalt = (1, -geo_minus_baro_ft) if geo_minus_baro_ft < 0 else (0, geo_minus_baro_ft)
    me = (19 << 51) | (1 << 48)
    me |= dew << 42 | (vew + 1) << 32 | dns << 31 | (vns + 1) << 21
    me |= 0 << 20 | svr << 19 | (vr // 64 + 1) << 10
    me |= sd << 7 | (dalt // 25 + 1 if dalt else 0)
    return _df17(icao, me)


def beast(msg: bytes, clock: int, signal: int = 0x80) -> bytes:
    """One Beast frame (type from the message length), 0x1a doubled inside."""
    kind = {2: b"1", 7: b"2", 14: b"3"}[len(msg)]
    body = clock.to_bytes(6, "big") + bytes([signal]) + msg
    return b"\x1a" + kind + body.replace(b"\x1a", b"\x1a\x1a")


def avr(msg: bytes, clock: int | None = None) -> bytes:
    if clock is None:
        return b"*" + msg.hex().upper().encode() + b";\n"
    return b"@" + clock.to_bytes(6, "big").hex().upper().encode() + msg.hex().upper().encode() + b";\n"


# ---------------------------------------------------------------------------- Remote ID (F3411)


def rid_basic_id(uas_id: str, id_type: int = 1, ua_type: int = 2) -> bytes:
    return bytes([0x02, (id_type << 4) | ua_type]) + uas_id.encode().ljust(20, b"\0")[:20] + b"\0\0\0"


def rid_location(
    lat: float, lon: float, alt_geo: float, speed: float, track: float, vspeed: float, tenths: int,
    status: int = 2, alt_baro: float = -1000.0, height: float = -1000.0,
) -> bytes:
    ew = 1 if track >= 180 else 0
    if speed <= 255 * 0.25:
        mult, sp = 0, int(round(speed / 0.25))
    else:
        mult, sp = 1, int(round((speed - 255 * 0.25) / 0.75))
    flags = (status << 4) | (ew << 1) | mult
    enc_alt = lambda a: int(round((a + 1000) / 0.5))  # noqa: E731
    return (
        bytes([0x12, flags, int(track - 180 * ew), min(sp, 254), int(round(vspeed / 0.5)) & 0xFF])
        + struct.pack("<iiHHH", int(round(lat * 1e7)), int(round(lon * 1e7)), enc_alt(alt_baro), enc_alt(alt_geo), enc_alt(height))
        + bytes([0x00, 0x00])
        + struct.pack("<H", tenths)
        + b"\0\0"
    )


def rid_system(op_lat: float, op_lon: float, unix_s: int) -> bytes:
    ts = unix_s - 1546300800
    return (
        bytes([0x42, 0x01])
        + struct.pack("<ii", int(round(op_lat * 1e7)), int(round(op_lon * 1e7)))
        + struct.pack("<HBHH", 1, 0, 0, 0)
        + bytes([0x00])
        + struct.pack("<H", 0)
        + struct.pack("<I", ts)
        + b"\0"
    )


def rid_operator_id(op: str) -> bytes:
    return bytes([0x52, 0x00]) + op.encode().ljust(20, b"\0")[:20] + b"\0\0\0"


def rid_pack(messages: Iterable[bytes]) -> bytes:
    msgs = list(messages)
    return bytes([0xF2, 25, len(msgs)]) + b"".join(msgs)
