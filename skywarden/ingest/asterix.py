"""EUROCONTROL ASTERIX surveillance data: CAT048 monoradar target reports and CAT062 system
tracks, into ``polar_plots`` and ``position_plots``.

Data blocks (``CAT``, a 2-byte length, records) are parsed by libasterix (MIT licence), with the
latest editions it has of each category (CAT048 1.32, CAT062 1.21; the items read here are laid
out the same in the editions radars send today). Fed as a stream of blocks (a raw recording) or
one UDP datagram at a time (``feed_datagram``, a capture or a listener); a block whose length
cannot frame it ends a stream (nothing after it can be found again) or drops the rest of its
datagram, with a rejection either way.

* CAT048: a radar's plots of one data block become one ``PolarPlots`` per radar (split where
  the plots' times spread over more than ``GROUP_S``): slant range (I048/040 RHO), azimuth
  (THETA) and, where a valid flight level (I048/090) is given, the elevation that puts the plot
  at that height (flight level taken as height, ``asin((h - h_radar) / range)``, the tracker's
  flat geometry). Plots without one go in a separate ``PolarPlots`` at elevation 0 with the
  site's ``sigma_elevation_unknown_deg``. The callsign (I048/240) or else the Mode S address
  (I048/220) is kept as the plot's ``identity``. The radar must be in the sensors file
  (its SAC/SIC gives its site); plots of any other radar are rejected with that reason.
* CAT062: the tracks of one data block become one ``PositionPlots`` per system (SAC/SIC):
  position I062/105 (WGS84), height I062/130 (geometric) or else I062/135 (barometric, flight
  level taken as height); 1-sigma from I062/500 (APC or APW) or else the site's ``sigma_m``
  (100 m when the system is not in the sensors file; tracks need no site).

ASTERIX sends only the time of day (I048/140, I062/070); the date comes from the capture time,
the listener's clock or ``start``, and the time of day nearest to it is taken (so a recording
may cross midnight).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from skywarden import events as E
from skywarden.ingest.sensors import RadarSite, SensorSites
from skywarden.ingest.wire import Decoder, nearest_time_of_day

__all__ = ["AsterixDecoder", "GROUP_S"]

NM = 1852.0
FT = 0.3048
GROUP_S = 0.5  # plots of one radar in one block further apart in time than this are separate scans
DEFAULT_TRACK_SIGMA_M = 100.0


@dataclass
class _Group:
    t: datetime
    name: str  # the sensor id
    site: RadarSite | None
    has_fl: bool
    a: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)
    c: list[float] = field(default_factory=list)
    sigma: list[float] = field(default_factory=list)
    identity: list[str] = field(default_factory=list)


def _specs() -> tuple[Any, Any, Any, Any]:
    from asterix import base, generated

    return base.Bits, base.RawDatablock, generated.Cat_048_1_32, generated.Cat_062_1_21


class AsterixDecoder(Decoder):
    """Incremental decoder of CAT048/CAT062 data blocks (see the module docstring)."""

    def __init__(self, sites: SensorSites | None = None, start: datetime | None = None, source: str = "asterix") -> None:
        super().__init__(source)
        if start is not None and start.tzinfo is None:
            raise ValueError("start needs a time zone")
        self.sites = sites or SensorSites.empty()
        self.start = start
        self._ref: datetime | None = start  # the latest time resolved: dates the next one
        self._buf = bytearray()
        self._broken = False
        self._Bits, self._Raw, self._C48, self._C62 = _specs()

    # ------------------------------------------------------------------ framing

    def _feed(self, data: bytes, now: datetime | None) -> None:
        if self._broken:
            if data:
                self._ignore("data after an unframeable block")
            return
        self._buf += data
        buf = self._buf
        pos = 0
        while len(buf) - pos >= 3:
            size = int.from_bytes(buf[pos + 1 : pos + 3], "big")
            if size < 3:
                self._reject("block length", f"length {size} cannot frame a block: the rest of the stream is dropped", bytes(buf[pos : pos + 64]), now)
                self._broken = True
                buf.clear()
                return
            if len(buf) - pos < size:
                break
            self._block(bytes(buf[pos : pos + size]), now)
            pos += size
        del buf[:pos]

    def feed_datagram(self, data: bytes, received: datetime) -> list[E.InputEvent]:
        """One UDP datagram (whole blocks), dated by when it was received."""
        try:
            pos = 0
            while pos < len(data):
                size = int.from_bytes(data[pos + 1 : pos + 3], "big") if len(data) - pos >= 3 else 0
                if size < 3 or pos + size > len(data):
                    self._reject("block length", f"block of {size} bytes at offset {pos} of a {len(data)}-byte datagram", data[pos : pos + 64], received)
                    break
                self._block(data[pos : pos + size], received)
                pos += size
        except Exception as exc:  # as in Decoder.feed: never out of the decoder
            self._reject("internal", f"{type(exc).__name__}: {exc}", data, received)
        return self._take()

    def _close(self, now: datetime | None) -> None:
        if self._buf and not self._broken:
            self._reject("truncated", f"{len(self._buf)} bytes of an unfinished block", bytes(self._buf[:64]), now)

    def _reset(self) -> None:
        self._buf.clear()

    # ------------------------------------------------------------------ blocks and records

    def _block(self, block: bytes, now: datetime | None) -> None:
        cat = block[0]
        spec = self._C48 if cat == 48 else self._C62 if cat == 62 else None
        if spec is None:
            self._ignore(f"CAT{cat:03d}")
            return
        raws = self._Raw.parse(self._Bits.from_bytes(block))
        records = spec.cv_uap.parse(raws[0].get_raw_records()) if not isinstance(raws, ValueError) and raws else raws
        if isinstance(records, ValueError) or not isinstance(records, list):
            self._reject(f"CAT{cat:03d} parse", str(records), block, now)
            return
        groups: dict[tuple[int, int, bool], _Group] = {}
        done: list[_Group] = []
        for rec in records:
            got = self._record48(rec, now, block) if cat == 48 else self._record62(rec, now, block)
            if got is None:
                continue
            key, t, site, has_fl, vals = got
            g = groups.get(key)
            if g is not None and abs((t - g.t).total_seconds()) > GROUP_S:
                done.append(groups.pop(key))
                g = None
            if g is None:
                name = site.sensor_id if site is not None else f"asterix-{key[0]}-{key[1]}"
                g = groups[key] = _Group(t=t, name=name, site=site, has_fl=has_fl)
            for lst, v in zip((g.a, g.b, g.c, g.sigma), vals[:4], strict=True):
                lst.append(v)
            g.identity.append(str(vals[4]))
        done.extend(groups.values())
        done.sort(key=lambda g: g.t)
        for g in done:
            self._emit(self._polar(g) if cat == 48 else self._tracks(g))

    def _time(self, tod: float | None, now: datetime | None, what: str, block: bytes) -> datetime | None:
        ref = now or self._ref
        if tod is None or not 0 <= tod < 86400 + 1:
            self._reject("time", f"{what} without a valid time of day", block, now)
            return None
        if ref is None:
            self._reject("no date", "time of day only, and no capture time or start to date it (give --start)", block, now)
            return None
        t = nearest_time_of_day(tod, ref)
        self._ref = t if self._ref is None or t > self._ref else self._ref
        return t

    def _record48(self, rec: Any, now: datetime | None, block: bytes) -> tuple[tuple[int, int, bool], datetime, RadarSite | None, bool, tuple[float, float, float, float, str]] | None:
        i010 = rec.get_item("010")
        if i010 is None:
            self._reject("CAT048 record", "no data source (I048/010)", block, now)
            return None
        sac, sic = i010.variation.get_item("SAC").as_uint(), i010.variation.get_item("SIC").as_uint()
        site = self.sites.radars.get((sac, sic))
        if site is None:
            self._reject("unknown radar", f"SAC {sac} SIC {sic} is not in the sensors file", block, now)
            return None
        i040 = rec.get_item("040")
        if i040 is None:
            self._reject("CAT048 record", "no polar position (I048/040)", block, now)
            return None
        i140 = rec.get_item("140")
        t = self._time(_q(i140.variation, "s") if i140 is not None else None, now, "CAT048 plot", block)
        if t is None:
            return None
        rng = _q(i040.variation.get_item("RHO").variation, "NM") * NM
        az = _q(i040.variation.get_item("THETA").variation, "°")
        if not rng > 0:
            self._reject("CAT048 record", "zero range", block, now)
            return None
        el = 0.0
        has_fl = False
        i090 = rec.get_item("090")
        if i090 is not None:
            v = i090.variation
            if v.get_item("V").as_uint() == 0 and v.get_item("G").as_uint() == 0:
                h = _q(v.get_item("FL").variation, "FL") * 100 * FT
                s = (h - site.alt) / rng
                if abs(s) > 1:
                    self._reject("CAT048 record", f"flight level {h / 100 / FT:g} is out of reach of a {rng:.0f} m slant range", block, now)
                    return None
                el, has_fl = math.degrees(math.asin(s)), True
        ident = ""
        i240 = rec.get_item("240")
        if i240 is not None:
            ident = i240.variation.content.as_string().strip()
        if not ident:
            i220 = rec.get_item("220")
            if i220 is not None:
                ident = f"{i220.variation.as_uint():06x}"
        return (sac, sic, has_fl), t, site, has_fl, (rng, az % 360.0, el, 0.0, ident)

    def _record62(self, rec: Any, now: datetime | None, block: bytes) -> tuple[tuple[int, int, bool], datetime, RadarSite | None, bool, tuple[float, float, float, float, str]] | None:
        i010 = rec.get_item("010")
        if i010 is None:
            self._reject("CAT062 record", "no data source (I062/010)", block, now)
            return None
        sac, sic = i010.variation.get_item("SAC").as_uint(), i010.variation.get_item("SIC").as_uint()
        site = self.sites.radars.get((sac, sic))
        i105 = rec.get_item("105")
        if i105 is None:
            self._reject("CAT062 record", "no WGS84 position (I062/105)", block, now)
            return None
        i070 = rec.get_item("070")
        t = self._time(_q(i070.variation, "s") if i070 is not None else None, now, "CAT062 track", block)
        if t is None:
            return None
        lat = _q(i105.variation.get_item("LAT").variation, "°")
        lon = _q(i105.variation.get_item("LON").variation, "°")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            self._reject("CAT062 record", f"position ({lat}, {lon}) is not on Earth", block, now)
            return None
        i130, i135 = rec.get_item("130"), rec.get_item("135")
        if i130 is not None:
            alt = _q(i130.variation, "ft") * FT
        elif i135 is not None:
            alt = _q(i135.variation.get_item("CTB").variation, "FL") * 100 * FT
        else:
            self._reject("CAT062 record", "no height (I062/130 or I062/135)", block, now)
            return None
        sigma = site.sigma_m if site is not None else DEFAULT_TRACK_SIGMA_M
        i500 = rec.get_item("500")
        if i500 is not None:
            apc, apw = i500.variation.get_item("APC"), i500.variation.get_item("APW")
            if apc is not None:
                sigma = max(_q(apc.variation.get_item("X").variation, "m"), _q(apc.variation.get_item("Y").variation, "m"))
            elif apw is not None:
                dlat = _q(apw.variation.get_item("LAT").variation, "°") * 111_320.0
                dlon = _q(apw.variation.get_item("LON").variation, "°") * 111_320.0 * math.cos(math.radians(lat))
                sigma = max(dlat, dlon)
        sigma = max(sigma, 1.0)
        ident = ""
        i380 = rec.get_item("380")
        if i380 is not None:
            sub = i380.variation.get_item("ID")
            if sub is not None:
                ident = sub.variation.content.as_string().strip()
            if not ident:
                adr = i380.variation.get_item("ADR")
                if adr is not None:
                    ident = f"{adr.variation.as_uint():06x}"
        return (sac, sic, False), t, site, False, (lat, lon, alt, sigma, ident)

    # ------------------------------------------------------------------ events

    def _polar(self, g: _Group) -> E.PolarPlots:
        site = g.site
        assert site is not None
        return E.PolarPlots(
            t=g.t,
            sensor_id=site.sensor_id,
            sensor_kind="radar",
            sensor_lat=site.lat,
            sensor_lon=site.lon,
            sensor_alt=site.alt,
            range_m=g.a,
            azimuth_deg=g.b,
            elevation_deg=g.c,
            sigma_range_m=site.sigma_range_m,
            sigma_azimuth_deg=site.sigma_azimuth_deg,
            sigma_elevation_deg=site.sigma_elevation_deg if g.has_fl else site.sigma_elevation_unknown_deg,
            identity=g.identity if any(g.identity) else None,
        )

    def _tracks(self, g: _Group) -> E.PositionPlots:
        return E.PositionPlots(
            t=g.t,
            sensor_id=g.name,
            sensor_kind="radar",
            lat=g.a,
            lon=g.b,
            alt=g.c,
            sigma_m=g.sigma,
            identity=g.identity if any(g.identity) else None,
        )


def _q(var: Any, unit: str) -> float:
    return float(var.content.as_quantity(unit))
