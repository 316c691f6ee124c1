"""Reports as JSON lines: one input event per line, the same JSON the log stores.

This is the edge where outside data enters, so every line is checked before it becomes an event:
only input kinds (nothing may inject a derived fact), no unknown fields, valid types, coordinates
on Earth, times with a zone, per-source time order (within a tolerance) and no exact duplicates.
A line that fails becomes a ``ReportRejected`` event carrying the reason, the line number and the
raw text: counted and kept in the log, never a crash, never silently dropped.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from skywarden import events as E
from skywarden.geo import CoordinateError, check_lat_lon

_LAT_LON_FIELDS = (("lat", "lon"), ("sensor_lat", "sensor_lon"))


@dataclass
class ReportChecker:
    """Turns raw lines into input events or rejections; keeps the state that order checks need."""

    source: str
    reorder_tolerance_s: float = 5.0
    _last_t: dict[str, datetime] = field(default_factory=dict)
    _seen: set[bytes] = field(default_factory=set)
    accepted: int = 0
    rejected: int = 0

    def check(self, raw: str | bytes, line: int | None = None, now: datetime | None = None) -> E.InputEvent:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        try:
            ev = self._parse(text)
        except ValueError as exc:
            self.rejected += 1
            return E.ReportRejected(t=now or self._latest(), source=self.source, reason=str(exc), raw=text[:2000], line=line)
        self.accepted += 1
        return ev

    def _latest(self) -> datetime:
        return max(self._last_t.values(), default=datetime(1970, 1, 1, tzinfo=UTC))

    def _parse(self, text: str) -> E.InputEvent:
        try:
            obj = msgspec.json.decode(text)
        except msgspec.DecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from exc
        if not isinstance(obj, dict):
            raise ValueError("a report must be a JSON object")
        kind = obj.get("kind")
        if not isinstance(kind, str) or kind not in E.TYPE_OF:
            raise ValueError(f"unknown kind {kind!r}")
        cls = E.TYPE_OF[kind]
        if not issubclass(cls, E.InputEvent) or cls in (E.Tick, E.NightOpened, E.ReportRejected):
            raise ValueError(f"kind {kind!r} cannot come from outside")
        allowed = set(cls.__struct_fields__) | {"kind"}
        unknown = sorted(set(obj) - allowed)
        if unknown:
            raise ValueError(f"unknown field(s) {unknown} for {kind}")
        try:
            ev = msgspec.convert(obj, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise ValueError(f"invalid {kind}: {exc}") from exc
        if ev.t.tzinfo is None:
            raise ValueError("time without a zone: write it as UTC, e.g. 2025-03-11T00:10:00Z")
        _check_numbers(ev)
        key = getattr(ev, "sensor_id", None) or kind
        last = self._last_t.get(key)
        if last is not None and ev.t < last - timedelta(seconds=self.reorder_tolerance_s):
            raise ValueError(f"out of order: {ev.t.isoformat()} is before {last.isoformat()} from {key}")
        digest = hashlib.sha256(E.encode(ev)).digest()
        if digest in self._seen:
            raise ValueError("duplicate of an earlier report")
        self._seen.add(digest)
        if last is None or ev.t > last:
            self._last_t[key] = ev.t
        return ev


def _check_per_plot(ev: E.PolarPlots | E.PositionPlots, n: int) -> None:
    for name in ("identity", "class_hint"):
        values = getattr(ev, name)
        if values is not None and len(values) != n:
            raise ValueError(f"{len(values)} {name} values for {n} plots")


def _check_numbers(ev: E.Event) -> None:
    for la, lo in _LAT_LON_FIELDS:
        lat, lon = getattr(ev, la, None), getattr(ev, lo, None)
        if lat is None or lon is None:
            continue
        lats = lat if isinstance(lat, list) else [lat]
        lons = lon if isinstance(lon, list) else [lon]
        if len(lats) != len(lons):
            raise ValueError(f"{la} and {lo} have different lengths")
        for a, b in zip(lats, lons, strict=True):
            try:
                check_lat_lon(a, b)
            except CoordinateError as exc:
                raise ValueError(str(exc)) from exc
    if isinstance(ev, E.PolarPlots):
        n = len(ev.range_m)
        if not (len(ev.azimuth_deg) == len(ev.elevation_deg) == n):
            raise ValueError("range_m, azimuth_deg and elevation_deg have different lengths")
        if any(not math.isfinite(r) or r < 0 for r in ev.range_m):
            raise ValueError("a range is negative or not a number")
        if min(ev.sigma_range_m, ev.sigma_azimuth_deg, ev.sigma_elevation_deg) <= 0:
            raise ValueError("sigmas must be positive")
        _check_per_plot(ev, n)
    if isinstance(ev, E.PositionPlots):
        if not (len(ev.lat) == len(ev.alt) == len(ev.sigma_m)):
            raise ValueError("lat, lon, alt and sigma_m have different lengths")
        if any(not math.isfinite(s) or s <= 0 for s in ev.sigma_m):
            raise ValueError("sigma_m must be positive")
        _check_per_plot(ev, len(ev.lat))


class JsonlSource:
    """A recorded night of reports (one JSON event per line) played as a source.

    Lines are read in file order; each is released at its own time ``t`` (rejections at the time
    of the last good report), so a recording replays at the pace of the clock that drives it.
    """

    def __init__(self, path: str | Path, reorder_tolerance_s: float = 5.0) -> None:
        self.path = Path(path)
        self.checker = ReportChecker(source=f"file:{self.path.name}", reorder_tolerance_s=reorder_tolerance_s)
        self._events = self._read()
        self._i = 0

    def _read(self) -> list[E.InputEvent]:
        out: list[E.InputEvent] = []
        with self.path.open("rb") as fh:
            for n, raw in enumerate(fh, start=1):
                if raw.strip():
                    out.append(self.checker.check(raw.rstrip(b"\r\n"), line=n))
        # a stable sort by time keeps file order among equal times; rejections stay where they were read
        return sorted(out, key=lambda e: e.t)

    @property
    def first_time(self) -> datetime | None:
        return self._events[0].t if self._events else None

    def poll(self, now: datetime) -> list[E.InputEvent]:
        start = self._i
        while self._i < len(self._events) and self._events[self._i].t <= now:
            self._i += 1
        return self._events[start : self._i]

    def observe(self, events: Sequence[E.Event]) -> None:
        pass

    def __iter__(self) -> Iterator[E.InputEvent]:
        return iter(self._events)


def write_jsonl(events: Iterable[E.Event], path: str | Path) -> int:
    """Write input events as JSON lines (e.g. to cut a recording out of a log)."""
    n = 0
    with Path(path).open("wb") as fh:
        for ev in events:
            if E.is_input(ev) and not isinstance(ev, E.Tick | E.NightOpened):
                fh.write(E.encode(ev) + b"\n")
                n += 1
    return n

