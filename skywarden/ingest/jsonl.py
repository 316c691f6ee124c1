"""Reports as JSON lines: one input event per line, the same JSON the log stores.

This is the edge where outside data enters, so every line is checked before it becomes an event:
only input kinds (nothing may inject a derived fact), no unknown fields, valid types, coordinates
on Earth, times with a zone, per-source time order (within a tolerance) and no exact duplicates.
A line that fails becomes a ``ReportRejected`` event carrying the reason, the line number and the
raw text: counted and kept in the log, never a crash, never silently dropped. The listeners of
``skywarden serve`` pass each event their decoders make through the same checks
(``ReportChecker.check_event``).
"""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import msgspec

from skywarden import events as E
from skywarden.ingest.validate import (
    MAX_LINE_BYTES,
    Invalid,
    Window,
    check_input,
    check_line,
    round_trips,
)

MAX_REMEMBERED = 1_000_000  # reports remembered for the duplicate check (a live night runs for hours)


@dataclass
class ReportChecker:
    """Turns raw lines into input events or rejections; keeps the state that order checks need.

    A report is remembered for the duplicate check until its sender's reports have moved on by
    more than the reorder tolerance (an exact copy would then fail the order check anyway), and
    at most ``MAX_REMEMBERED`` of them (the oldest forgotten first), so a live night's checker
    stays bounded."""

    source: str
    reorder_tolerance_s: float = 5.0
    window: Window | None = None  # when reports may be dated (the night); None: 2000 to 2100
    _last_t: dict[str, datetime] = field(default_factory=dict)
    # the duplicate memory, kept where the garbage collector never looks (a dict of bytes to
    # None is untracked; arrays are no containers): a set and a deque of 100,000 reports made
    # every full collection of a live service 9 ms longer
    _seen: dict[bytes, None] = field(default_factory=dict)
    _fifo_digest: bytearray = field(default_factory=bytearray)  # 32 bytes a report, oldest first
    _fifo_t: array[float] = field(default_factory=lambda: array("d"))  # its time, UNIX seconds
    _fifo_key: array[int] = field(default_factory=lambda: array("q"))  # its sender, in _key_ids
    _head: int = 0  # the oldest report still remembered
    _key_ids: dict[str, int] = field(default_factory=dict)
    _last_s: array[float] = field(default_factory=lambda: array("d"))  # _last_t by key id, UNIX seconds
    accepted: int = 0
    rejected: int = 0

    def check(self, raw: str | bytes, line: int | None = None, now: datetime | None = None) -> E.InputEvent:
        """One line: an input event, or a ``ReportRejected`` saying why (``now``, the receiving
        clock when there is one, dates the rejection and bounds how far ahead a report may be)."""
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
        text = data[:8000].decode("utf-8", "replace") if isinstance(raw, bytes) else raw[:2000]
        try:
            check_line(data)
            ev = self._parse(data, now)
        except ValueError as exc:
            self.rejected += 1
            return E.ReportRejected(t=now or self._latest(), source=self.source, reason=str(exc)[:500], raw=text[:2000], line=line)
        self.accepted += 1
        return ev

    def check_event(self, ev: E.InputEvent, now: datetime | None = None) -> E.InputEvent:
        """An event a decoder made, through the same checks as a line of it: its JSON must
        decode back to it (no NaN, no infinity), then coordinates, order and duplicates."""
        raw = E.encode(ev)
        try:
            cls = type(ev)
            if not cls.INPUT or cls in (E.Tick, E.NightOpened, E.ReportRejected):
                raise ValueError(f"kind {E.kind(ev)!r} cannot come from outside")
            check_input(ev, self.window, now)
            try:
                back = msgspec.json.decode(raw, type=cls, strict=False)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise ValueError(f"invalid {E.kind(ev)}: {exc}") from exc
            if back != ev:
                raise Invalid("not encodable: the report does not come back the same from the log's encoding")
            self._admit(back, raw)
        except ValueError as exc:
            self.rejected += 1
            return E.ReportRejected(t=now or self._latest(), source=self.source, reason=str(exc)[:500], raw=raw[:2000].decode("utf-8", "replace"))
        self.accepted += 1
        return back

    def _latest(self) -> datetime:
        floor = self.window.start if self.window is not None else datetime(1970, 1, 1, tzinfo=UTC)
        return max(self._last_t.values(), default=floor)

    def _parse(self, data: bytes, now: datetime | None) -> E.InputEvent:
        try:
            obj = msgspec.json.decode(data)
        except msgspec.DecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from exc
        except RecursionError as exc:  # check_line bounds nesting far below this; kept as a backstop
            raise Invalid("too deep: nested beyond the parser's limit") from exc
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
        check_input(ev, self.window, now)
        why = round_trips(ev)
        if why:
            raise Invalid(why)
        self._admit(ev, E.encode(ev))
        return ev

    def _admit(self, ev: E.Event, encoded: bytes) -> None:
        """Order per sender and duplicates (after the bounds); ValueError says which failed."""
        key = getattr(ev, "sensor_id", None) or E.kind(ev)
        last = self._last_t.get(key)
        if last is not None and ev.t < last - timedelta(seconds=self.reorder_tolerance_s):
            raise ValueError(f"out of order: {ev.t.isoformat()} is before {last.isoformat()} from {key}")
        digest = hashlib.sha256(encoded).digest()
        if digest in self._seen:
            raise ValueError("duplicate of an earlier report")
        kid = self._key_ids.get(key)
        if kid is None:
            kid = self._key_ids[key] = len(self._last_s)
            self._last_s.append(-math.inf)
        t_s = ev.t.timestamp()
        self._seen[digest] = None
        self._fifo_digest += digest
        self._fifo_t.append(t_s)
        self._fifo_key.append(kid)
        if last is None or ev.t > last:
            self._last_t[key] = ev.t
            self._last_s[kid] = t_s
        self._forget(self.reorder_tolerance_s)

    def _forget(self, tol_s: float) -> None:
        """Forget the reports an exact copy of which the order check would refuse anyway, and
        the oldest beyond ``MAX_REMEMBERED``."""
        times, keys, last, digests = self._fifo_t, self._fifo_key, self._last_s, self._fifo_digest
        i, n = self._head, len(times)
        while i < n and (n - i > MAX_REMEMBERED or times[i] < last[keys[i]] - tol_s):
            del self._seen[bytes(digests[32 * i : 32 * i + 32])]
            i += 1
        self._head = i
        if i > 4096 and 2 * i > n:  # drop the forgotten front now and then (amortised O(1))
            del times[:i], keys[:i], digests[: 32 * i]
            self._head = 0


def bounded_lines(fh: BinaryIO, cap: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """The lines of a binary file, each cut at ``cap + 1`` bytes (the rest of a longer line is
    skipped unread into memory): a line with no end never costs more than the cap, and the cut
    line is still refused as too long."""
    while True:
        line = fh.readline(cap + 1)
        if not line:
            return
        if len(line) > cap and not line.endswith(b"\n"):
            while (rest := fh.readline(1 << 16)) and not rest.endswith(b"\n"):
                pass
        yield line


class JsonlSource:
    """A recorded night of reports (one JSON event per line) played as a source.

    Lines are read in file order; each is released at its own time ``t`` (rejections at the time
    of the last good report), so a recording replays at the pace of the clock that drives it.
    """

    def __init__(self, path: str | Path, reorder_tolerance_s: float = 5.0, window: Window | None = None) -> None:
        self.path = Path(path)
        self.checker = ReportChecker(source=f"file:{self.path.name}", reorder_tolerance_s=reorder_tolerance_s, window=window)
        self._events = self._read()
        self._i = 0

    def _read(self) -> list[E.InputEvent]:
        out: list[E.InputEvent] = []
        with self.path.open("rb") as fh:
            for n, raw in enumerate(bounded_lines(fh), start=1):
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

