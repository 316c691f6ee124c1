"""The rules one row of a recording is held to, and the state they carry from row to row.

These are the exact checks, one row at a time, with the messages users see; the columnar reader
(:mod:`.reader`) takes a block of rows at once only when it can tell that every row of it passes
them, and hands any other block to :meth:`RowRules.check` row by row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from skywarden.ingest.validate import BOUNDS, MAX_ID_CHARS, MAX_PLOTS, Bound, check_time

__all__ = [
    "LOCAL",
    "MAX_LINE_CHARS",
    "MAX_SCAN_PLOTS",
    "MAX_SECONDS",
    "Header",
    "RecordingError",
    "RowRules",
    "US_EPOCH",
]


class RecordingError(ValueError):
    """A recording that cannot be tracked at all (no header, no usable rows, not UTF-8)."""


# bounds of a row (the JSON lines' own for lat/lon/alt/sigma: skywarden.ingest.validate)
MAX_LINE_CHARS = 4096  # one CSV line; a longer one is skipped unread by the csv module
MAX_SCAN_PLOTS = MAX_PLOTS  # rows of one (t, sensor_id) scan: more would make the tracker's
# association matrices quadratic in them (three scans of 50,000 rows asked for 18.6 GiB)
MAX_SECONDS = 1e10  # |t| in seconds of any epoch (a UNIX time until the year 2286)
LOCAL = Bound(-1e7, 1e7)  # x, y, z in metres from the local origin
US_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # ISO times are held as microseconds since this
_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class Header:
    """What the header line (or a Parquet file's schema) says: which column is which."""

    names: list[str]  # stripped, lower case, in file order
    col: dict[str, int]  # name -> index (the last of a repeated name)
    geodetic: bool  # lat/lon, else x/y
    has_height: bool  # alt or z
    has_sigma: bool

    @property
    def keys(self) -> tuple[str, str, str]:
        """The names of the position columns: (x, y, z) or (lat, lon, alt)."""
        return ("lat", "lon", "alt") if self.geodetic else ("x", "y", "z")

    @property
    def bounds(self) -> dict[str, Bound]:
        return {"lat": BOUNDS["lat"], "lon": BOUNDS["lon"], "alt": BOUNDS["alt"], "x": LOCAL, "y": LOCAL, "z": LOCAL, "sigma": BOUNDS["sigma_m"]}  # fmt: skip

    @classmethod
    def parse(cls, raw: list[str], name: str) -> Header:
        """The header's names; :class:`RecordingError` when it lacks a column or has both frames."""
        header = [h.strip().lower() for h in raw]
        col = {h: i for i, h in enumerate(header)}
        missing = [c for c in ("t", "sensor_id") if c not in col]
        geodetic = "lat" in col and "lon" in col
        local = "x" in col and "y" in col
        if missing or not (geodetic or local):
            need = ", ".join(missing + ([] if geodetic or local else ["x,y or lat,lon"]))
            raise RecordingError(f"{name}: the header lacks {need} (found: {', '.join(header)})")
        if geodetic and local:
            raise RecordingError(f"{name}: the header has both x,y and lat,lon; give one frame")
        return cls(
            names=header,
            col=col,
            geodetic=geodetic,
            has_height=("alt" if geodetic else "z") in col,
            has_sigma="sigma" in col,
        )


def parse_time(text: str) -> tuple[float | None, datetime | None]:
    """Seconds, or an ISO 8601 UTC time; ValueError saying why when it is neither or absurd."""
    s = text.strip()
    if not s.isascii():
        raise ValueError("has characters other than ASCII")
    try:
        sec = float(s)
    except ValueError:
        pass
    else:
        if not (math.isfinite(sec) and abs(sec) <= MAX_SECONDS):
            raise ValueError(f"{sec!r} is not a finite number of seconds within {MAX_SECONDS:g}")
        return sec, None
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    dt = datetime.fromisoformat(s)  # raises ValueError
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    check_time(dt, "t", None)  # 2000 to 2100
    return None, dt


def number(key: str, text: str, bound: Bound) -> float:
    """One numeric field: ASCII digits only (Python's float takes any script's), finite,
    within ``bound``; ValueError naming the column otherwise."""
    s = text.strip()
    if not s:
        raise ValueError(f"column {key}: empty")
    if not s.isascii():
        raise ValueError(f"column {key}: {s[:40]!r} has characters other than ASCII")
    try:
        v = float(s)
    except ValueError:
        raise ValueError(f"column {key}: {s[:40]!r} is not a number") from None
    if not math.isfinite(v):
        raise ValueError(f"column {key}: {v} is not a finite number")
    if not bound.holds(v):
        raise ValueError(f"column {key}: {v:g} is outside {bound}")
    return v


#: an accepted row: (t seconds, sensor_id, x or lat, y or lon, z or alt, sigma)
Row = tuple[float, str, float, float, float, float]


@dataclass
class RowRules:
    """The checks of one row, in order, and what they carry from one row to the next.

    Order: ``t`` (seconds or ISO 8601), one kind of ``t`` per file, ``sensor_id``, the position
    columns, ``sigma``; then the time order (a row more than ``window_s`` seconds before the
    newest row taken so far is refused: it comes after its scan has been tracked), then the
    scan's size (rows of one ``t`` as written and one ``sensor_id``). ISO times are seconds
    since ``epoch``, the first row's time (a row a little earlier, within the window, has a
    negative offset)."""

    header: Header
    default_sigma: float
    window_s: float
    iso: bool | None = None  # the file's kind of t, from the first row whose t parses
    epoch_us: int | None = None  # microseconds since US_EPOCH of the first ISO row taken
    newest: float = -math.inf  # the latest t taken
    scan_rows: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # -> [rows, t]

    @property
    def epoch(self) -> datetime | None:
        return None if self.epoch_us is None else US_EPOCH + self.epoch_us * _US

    def check(self, row: list[str]) -> Row | str:
        """The row's values, or the reason it is refused (the field count checked already)."""
        h = self.header
        col, bounds = h.col, h.bounds
        ka, kb, kc = h.keys
        t_text = row[col["t"]]
        try:
            sec, when = parse_time(t_text)
        except ValueError as exc:
            return f"column t: {t_text[:40]!r} is neither seconds nor an ISO 8601 time from 2000 to 2100 ({exc})"
        kind_iso = when is not None
        if self.iso is None:
            self.iso = kind_iso
        elif self.iso != kind_iso:
            return "t mixes ISO 8601 and seconds within the file"
        sid = row[col["sensor_id"]].strip()
        if not sid:
            return "column sensor_id: empty"
        if len(sid) > MAX_ID_CHARS:
            return f"column sensor_id: {len(sid)} characters (at most {MAX_ID_CHARS})"
        try:
            a = number(ka, row[col[ka]], bounds[ka])
            b = number(kb, row[col[kb]], bounds[kb])
            c = number(kc, row[col[kc]], bounds[kc]) if h.has_height else 0.0
            sg = number("sigma", row[col["sigma"]], bounds["sigma"]) if h.has_sigma else self.default_sigma
        except ValueError as exc:
            return str(exc)
        if when is not None:
            us = (when - US_EPOCH) // _US
            if self.epoch_us is None:
                self.epoch_us = us
            t = (us - self.epoch_us) / 1e6
        else:
            assert sec is not None
            t = sec
        key_t = t_text.strip()
        late = self.late(t, key_t)
        if late:
            return late
        key = (key_t, sid)
        entry = self.scan_rows.get(key)
        if entry is None:
            entry = self.scan_rows[key] = [0.0, t]
        entry[0] += 1
        if entry[0] > MAX_SCAN_PLOTS:
            return f"scan of {sid} at {key_t} has more than {MAX_SCAN_PLOTS} rows"
        self.newest = max(self.newest, t)
        return (t, sid, a, b, c, sg)

    def late(self, t: float, t_text: str) -> str:
        """The reason a row at ``t`` comes too late, or "" when it is in time."""
        if t < self.newest - self.window_s:
            return (
                f"out of time order: t {t_text[:40]} is {self.newest - t:g} s before a row "
                f"above it (at most {self.window_s:g} s is put back in order: --reorder-window)"
            )
        return ""

    def forget_before(self, t: float) -> None:
        """Drop the row counts of scans before ``t``: any further row of them is refused as late
        before its scan's size is looked at."""
        if len(self.scan_rows) > 256:
            self.scan_rows = {k: v for k, v in self.scan_rows.items() if v[1] >= t}
