"""What the wire-format decoders share: the feed/close interface, counts and rejections, times.

Every decoder (``adsb``, ``asterix``, ``sapient``, ``remoteid``) is an incremental object that a
file reader or a network listener feeds bytes as they come::

    dec = SapientDecoder(sites)
    for chunk in stream:
        events.extend(dec.feed(chunk))       # whole messages decoded, a partial one kept
    events.extend(dec.close())               # end of input: a partial message is rejected

``feed`` never raises on bad input: a malformed frame becomes a ``ReportRejected`` event (with a
short reason key, counted in ``counts.rejected``) and decoding goes on with the next frame. A
valid message that makes no event (an identification message, a registration) is counted in
``counts.ignored`` by what it was. Each decoder bounds what it keeps between feeds.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from skywarden import events as E
from skywarden.ingest.validate import Invalid, check_input

__all__ = ["DecodeCounts", "Decoder", "EPOCH", "nearest_time_of_day", "unix_time", "utc_from_unix"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_RAW = 2000  # characters of a rejected frame kept in its ReportRejected (hex or text)


@dataclass
class DecodeCounts:
    """Events made, and frames rejected or ignored, by reason."""

    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)

    @property
    def n_rejected(self) -> int:
        return sum(self.rejected.values())


class Decoder:
    """Base of the incremental decoders: bookkeeping only (see the module docstring)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.counts = DecodeCounts()
        self.last_t: datetime | None = None  # time of the latest event made
        self._out: list[E.InputEvent] = []
        self._buf = bytearray()  # what a feed left unfinished (each framing keeps it here)

    # ------------------------------------------------------------------ interface

    def feed(self, data: bytes, now: datetime | None = None) -> list[E.InputEvent]:
        """Decode what ``data`` completes; ``now`` (a listener's clock) dates rejections and
        frames that carry no absolute time."""
        try:
            self._feed(data, now)
        except Exception as exc:  # a decoder bug must not stop the night: counted and kept
            self._reject("internal", f"{type(exc).__name__}: {exc}", data, now)
            self._reset()
        return self._take()

    def close(self, now: datetime | None = None) -> list[E.InputEvent]:
        """End of input: a frame still incomplete is rejected as truncated."""
        try:
            self._close(now)
        except Exception as exc:
            self._reject("internal", f"{type(exc).__name__}: {exc}", b"", now)
        self._reset()
        return self._take()

    def pending(self) -> int:
        """Bytes of an unfinished frame held: a listener times out a frame that never ends."""
        return len(self._buf)

    # ------------------------------------------------------------------ for subclasses

    def _feed(self, data: bytes, now: datetime | None) -> None:
        raise NotImplementedError

    def _close(self, now: datetime | None) -> None:
        pass

    def _reset(self) -> None:
        """Forget any partial frame (after an internal error, or at close)."""

    def _emit(self, ev: E.InputEvent) -> None:
        # the bounds every edge keeps (skywarden.ingest.validate): a frame that decodes to an
        # impossible report (a flipped bit in a height) is a counted rejection here already
        try:
            check_input(ev)
        except Invalid as exc:
            key, _, detail = str(exc).partition(": ")
            self._reject(key, detail, E.encode(ev).decode("utf-8", "replace"), None)
            return
        self.counts.accepted += 1
        if self.last_t is None or ev.t > self.last_t:
            self.last_t = ev.t
        self._out.append(ev)

    def _reject(self, key: str, detail: str, raw: bytes | str, now: datetime | None) -> None:
        self.counts.rejected[key] += 1
        text = raw.hex() if isinstance(raw, bytes | bytearray | memoryview) else raw
        self._out.append(
            E.ReportRejected(
                t=now or self.last_t or EPOCH,
                source=self.source,
                reason=f"{key}: {detail}" if detail else key,
                raw=text[:MAX_RAW],
            )
        )

    def _ignore(self, key: str) -> None:
        self.counts.ignored[key] += 1

    def _take(self) -> list[E.InputEvent]:
        out, self._out = self._out, []
        return out


def unix_time(seconds: float) -> float:
    """``seconds`` when it is a plausible UNIX time (s), else ValueError: checked where a frame
    is read, while its datetime is made only for a frame that makes an event."""
    if not math.isfinite(seconds) or not 0 <= seconds < 32503680000:  # before the year 3000
        raise ValueError(f"time {seconds!r} is not a UNIX time")
    return seconds


def utc_from_unix(seconds: float) -> datetime:
    """A UNIX time (s) as a UTC datetime; ValueError when it is not a plausible date."""
    return EPOCH + timedelta(seconds=unix_time(seconds))


def nearest_time_of_day(seconds_of_day: float, reference: datetime) -> datetime:
    """The UTC instant with this time of day (s after midnight) nearest to ``reference``:
    formats that send only the time of day (ASTERIX, Remote ID) are dated by the capture or the
    previous report, across midnight too."""
    ref = reference.astimezone(UTC)
    midnight = ref.replace(hour=0, minute=0, second=0, microsecond=0)
    best = midnight + timedelta(seconds=seconds_of_day)
    for day in (-1, 1):
        cand = best + timedelta(days=day)
        if abs((cand - ref).total_seconds()) < abs((best - ref).total_seconds()):
            best = cand
    return best
