"""The bounds every input event is held to, in one place, for every edge.

JSON lines (``run --input``, ``POST /api/ingest``), the wire decoders (SAPIENT, ASTERIX, ADS-B,
Remote ID, through ``ReportChecker.check_event``) and the runtime's last guard before the log all
call :func:`check_input`; the track CSV reader holds its columns to the same :data:`BOUNDS`. A
failure is a :class:`Invalid` whose message is ``"key: detail"``; the key (:data:`REASONS`) is
what the rejections are counted by. Nothing here raises anything else on any input.

The bounds are physical, not tactical: wide enough that nothing a real sensor reports over a
city is refused, narrow enough that what passes cannot overflow the tracker's arithmetic (a
sigma of 1e308 squared is infinite) or make a stage run for ever (a kill at 1e308 m whose debris
falls for ever). docs/validation.md lists them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec

from skywarden import events as E
from skywarden.errors import LogError

# -------------------------------------------------------------------- sizes

MAX_LINE_BYTES = 1 << 20  # one JSON line (a 4,096-plot radar scan is some 250 KB)
MAX_CONTAINERS = 64  # arrays and objects in one line: an event has a handful, never nested deep
MAX_PLOTS = 4096  # list entries in one event (plots of a scan, points of a route)
MAX_ID_CHARS = 256  # ids, names, callsigns, roles, short labels
MAX_TEXT_CHARS = 8000  # free text: a statement's text, a claim, a reason, a status detail
TEXT_FIELDS = frozenset({"text", "text_en", "text_ru", "reason", "detail", "note", "raw", "what", "where"})

# -------------------------------------------------------------------- times

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # nothing Skywarden reads predates this
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(hours=1)  # a live report this far after the receiver's clock is refused


@dataclass(frozen=True)
class Bound:
    """``lo <= x <= hi``, or ``lo < x`` when ``open_lo`` (a sigma of 0 is a blind sensor)."""

    lo: float
    hi: float
    open_lo: bool = False

    def holds(self, x: float) -> bool:
        return (self.lo < x if self.open_lo else self.lo <= x) and x <= self.hi

    def __str__(self) -> str:
        return f"{'(' if self.open_lo else '['}{self.lo:g}, {self.hi:g}]"


ALT = Bound(-1000.0, 50_000.0)  # m above the ellipsoid: the Dead Sea to stratospheric balloons
SPEED = Bound(-2000.0, 2000.0)  # m/s per axis: faster than anything that flies over a city
# a sigma is squared into a variance: below these it underflows to 0 (a tiny sigma is as blind
# a sensor as a zero one: every plot gated out); above, the tracker's sums lose all precision
SIGMA_M = Bound(1e-3, 100_000.0)

# by field name, across every input kind; per-kind exceptions in KIND_BOUNDS
BOUNDS: dict[str, Bound] = {
    "lat": Bound(-90.0, 90.0),
    "lon": Bound(-180.0, 180.0),
    "sensor_lat": Bound(-90.0, 90.0),
    "sensor_lon": Bound(-180.0, 180.0),
    "alt": ALT,
    "sensor_alt": ALT,
    "range_m": Bound(0.0, 1_000_000.0),  # slant range: beyond any radar's horizon
    "azimuth_deg": Bound(-360.0, 360.0),
    "elevation_deg": Bound(-90.0, 90.0),
    "sigma_range_m": SIGMA_M,
    "sigma_azimuth_deg": Bound(1e-6, 180.0),
    "sigma_elevation_deg": Bound(1e-6, 90.0),
    "sigma_m": SIGMA_M,
    "rcs_dbsm": Bound(-100.0, 100.0),
    "radial_speed_ms": SPEED,
    "ve": SPEED,
    "vn": SPEED,
    "vu": SPEED,
    "eta_s": Bound(0.0, 86_400.0),
    "count": Bound(0, 1_000_000),
    "radius_m": Bound(0.0, 1_000_000.0, open_lo=True),
    "speed": Bound(0.0, 10_000.0, open_lo=True),
    "attempts": Bound(0, 1_000_000),
    "line": Bound(0, 2**53),
}
# a kill is entered by the air-defence command as the console takes it (service/app.py KillIn)
KIND_BOUNDS: dict[tuple[type[E.Event], str], Bound] = {(E.KillReported, "alt"): Bound(-500.0, 30_000.0)}

# the keys rejections are counted by (the words before the first colon of a reason)
REASONS = (
    "too long",  # a line, a string or a list over its cap
    "too deep",  # nesting
    "not JSON",
    "not finite",  # NaN or infinity
    "out of range",  # a number outside its Bound
    "lengths differ",  # per-plot lists of unequal length
    "time",  # no zone, before 2000 or after 2100, outside the night, far ahead of the clock
    "not encodable",  # would not come back the same from the log
)


class Invalid(ValueError):
    """One input that fails a bound; ``str()`` is ``"key: detail"``."""


def reason_key(reason: str) -> str:
    """The counted part of a rejection's reason: the words before the first colon."""
    return reason.split(":", 1)[0][:60]


# -------------------------------------------------------------------- raw lines


def check_line(raw: bytes) -> None:
    """Sizes of one JSON line before it is parsed: its length and how many arrays and objects it
    opens (a cheap, safe bound on nesting; the parser's own recursion limit is far above it)."""
    if len(raw) > MAX_LINE_BYTES:
        raise Invalid(f"too long: a line of {len(raw)} bytes (at most {MAX_LINE_BYTES})")
    opened = raw.count(b"[") + raw.count(b"{")
    if opened > MAX_CONTAINERS:
        # brackets inside strings count too: a line with that many is refused all the same
        raise Invalid(f"too deep: {opened} arrays and objects in one line (at most {MAX_CONTAINERS})")


# -------------------------------------------------------------------- events


@dataclass(frozen=True)
class Window:
    """When a report may be dated: the night (with a slack either side), and not far ahead of
    the receiving clock when there is one."""

    start: datetime = EARLIEST
    end: datetime = LATEST

    @classmethod
    def night(cls, start: datetime, end: datetime, slack: timedelta = timedelta(seconds=5)) -> Window:
        return cls(start - slack, end + slack)


def check_time(t: datetime, name: str, window: Window | None, now: datetime | None = None) -> None:
    if t.tzinfo is None:
        raise Invalid(f"time: {name} has no zone: write it as UTC, e.g. 2025-03-11T00:10:00Z")
    if not EARLIEST <= t < LATEST:
        raise Invalid(f"time: {name} {t.isoformat()} is before 2000 or after 2100")
    if window is not None and not window.start <= t <= window.end:
        raise Invalid(f"time: {name} {t.isoformat()} is outside the night ({window.start.isoformat()} to {window.end.isoformat()})")
    if now is not None and t > now + MAX_AHEAD:
        raise Invalid(f"time: {name} {t.isoformat()} is more than {MAX_AHEAD} ahead of the clock ({now.isoformat()})")


@dataclass(frozen=True)
class _Field:
    """One field of an event class, with what it is held to (looked up once per class)."""

    name: str
    bound: Bound | None
    cap: int  # characters of a string, or of each string in a list


_PLANS: dict[type[E.Event], tuple[tuple[_Field, ...], tuple[str, ...]]] = {}


def _plan(cls: type[E.Event]) -> tuple[tuple[_Field, ...], tuple[str, ...]]:
    """The fields of ``cls`` (``t`` apart) with their bounds and caps, and its per-plot lists:
    the decoders check an event per message, so nothing is looked up twice."""
    plan = _PLANS.get(cls)
    if plan is None:
        fields = tuple(
            _Field(name, KIND_BOUNDS.get((cls, name)) or BOUNDS.get(name), MAX_TEXT_CHARS if name in TEXT_FIELDS else MAX_ID_CHARS)
            for name in cls.__struct_fields__
            if name != "t"
        )
        groups: tuple[str, ...] = ()
        if issubclass(cls, E.PolarPlots):
            groups = ("range_m", "azimuth_deg", "elevation_deg", "rcs_dbsm", "radial_speed_ms", "identity", "class_hint")
        elif issubclass(cls, E.PositionPlots):
            groups = ("lat", "lon", "alt", "sigma_m", "signature", "identity", "class_hint")
        plan = _PLANS[cls] = (fields, groups)
    return plan


def check_input(ev: E.Event, window: Window | None = None, now: datetime | None = None) -> None:
    """Every field of one input event against its bounds: finite numbers in range, strings and
    lists under their caps, per-plot lists of one length, times with a zone in the window.
    Raises :class:`Invalid`; returns nothing when the event passes."""
    cls = type(ev)
    check_time(ev.t, "t", window, now)
    fields, groups = _plan(cls)
    isfinite = math.isfinite
    for f in fields:
        v = getattr(ev, f.name)
        if v is None or v is True or v is False:
            continue
        tv = type(v)
        if tv is float or tv is int or (tv is not bool and isinstance(v, float | int)):
            if not isfinite(v):
                raise Invalid(f"not finite: {f.name} is {v}")
            b = f.bound
            if b is not None and not b.holds(v):
                raise Invalid(f"out of range: {f.name} {v:g} is outside {b}")
        elif tv is str or isinstance(v, str):
            if len(v) > f.cap:
                raise Invalid(f"too long: {f.name} has {len(v)} characters (at most {f.cap})")
        elif isinstance(v, datetime):
            check_time(v, f.name, None, None)
        elif tv is list or isinstance(v, list):
            if not v:
                continue
            if len(v) > MAX_PLOTS:
                raise Invalid(f"too long: {f.name} has {len(v)} entries (at most {MAX_PLOTS})")
            first = v[0]
            if len(v) == 1 and type(first) is float:  # the decoders' one-plot reports
                if not isfinite(first):
                    raise Invalid(f"not finite: {f.name} has {first}")
                b = f.bound
                if b is not None and not b.holds(first):
                    raise Invalid(f"out of range: {f.name} has {first:g}, outside {b}")
            elif isinstance(first, str):
                for s in v:
                    if len(s) > f.cap:
                        raise Invalid(f"too long: {f.name} has {len(s)} characters (at most {f.cap})")
            elif isinstance(first, float | int) and not isinstance(first, bool):
                _numbers(f, v)
    if groups:
        _check_lengths(ev, groups)


def _numbers(f: _Field, xs: list[float]) -> None:
    if not all(map(math.isfinite, xs)):
        bad = next(x for x in xs if not math.isfinite(x))
        raise Invalid(f"not finite: {f.name} has {bad}")
    lo, hi = min(xs), max(xs)
    b = f.bound
    if b is not None and not (b.holds(lo) and b.holds(hi)):
        raise Invalid(f"out of range: {f.name} has {lo if not b.holds(lo) else hi:g}, outside {b}")


def _check_lengths(ev: E.Event, groups: tuple[str, ...]) -> None:
    n = -1
    for name in groups:
        v = getattr(ev, name)
        if v is not None:
            if n < 0:
                n = len(v)
            elif len(v) != n:
                break
    else:
        return
    lengths = {name: len(v) for name in groups if (v := getattr(ev, name)) is not None}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k} {n}" for k, n in lengths.items())
        raise Invalid(f"lengths differ: {shown}")


# -------------------------------------------------------------------- the log's encoding

def round_trips(ev: E.Event) -> str:
    """"" when ``ev`` comes back from the log's encoding equal to itself, else why not (a NaN
    is written as null, a naive time comes back naive, a float that is really an int ...)."""
    data = E.encode(ev)
    try:
        back = E.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return f"not encodable: {exc}"
    if back != ev:
        return "not encodable: the record decodes to a different event"
    return ""


def guard_inputs(events: list[E.InputEvent], source: str = "runtime") -> list[E.InputEvent]:
    """The runtime's last check before the stages and the log: an input that would not come
    back from the log's encoding equal to itself (a NaN that the JSON would write as null, which
    no later read could decode) becomes a ``ReportRejected`` with the reason and its repr.
    Returns ``events`` itself when every one round-trips (the common case: no copy)."""
    bad = [i for i, ev in enumerate(events) if not isinstance(ev, E.Tick) and round_trips(ev)]
    if not bad:
        return events
    out = list(events)
    for i in bad:
        ev = out[i]
        t = ev.t if ev.t.tzinfo is not None else ev.t.replace(tzinfo=UTC)
        out[i] = E.ReportRejected(t=t, source=source, reason=round_trips(ev)[:500], raw=repr(ev)[:2000])
    return out


def check_encodable(events: Sequence[E.Event]) -> None:
    """Raise ``LogError`` when an event would not come back from the log's encoding equal to
    itself: for derived events, a stage that made one has a bug, and the log must not take a
    record that no later read could decode."""
    for ev in events:
        why = round_trips(ev)
        if why:
            raise LogError(f"{E.kind(ev)} at {ev.t} cannot be stored: {why}")
