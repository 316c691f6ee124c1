"""The WebSocket hub: one delta per tick, encoded once, to every client; a client is a cursor.

Runs on the event loop (the night's thread encodes each tick's delta and hands it over with
``call_soon_threadsafe``), so taking a snapshot and subscribing happen with no tick in between:
a client that connects gets the snapshot at seq N and then exactly the deltas after N. The last
``keep`` deltas stay, so a client that reconnects with ``since`` gets what it missed, no gap and
no duplicate; one that lagged further gets a snapshot. Each client has its own bounded queue and
its own task writing it, so a slow one delays no other; one whose queue fills is dropped (it
reconnects with its last seq).

The reads of the live picture come from here too: each collection encoded once per tick (the
tracks by the night's thread, off the loop), gzipped once per tick for those who ask for it.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import msgspec

from skywarden.service.live import Delta
from skywarden.service.picture import iso

_enc = msgspec.json.Encoder()
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
GZIP_MIN_BYTES = 1400  # smaller bodies go as they are (one packet either way)
GZIP_LEVEL = 1  # the tracks' 440 KiB in 3 ms to 100 KiB (level 6: 12 ms to 84 KiB)


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    if c < 0x10000:
        return f"\\u{c:04x}"
    c -= 0x10000  # outside the BMP: a UTF-16 surrogate pair, as JSON escapes it
    return f"\\u{0xD800 + (c >> 10):04x}\\u{0xDC00 + (c & 0x3FF):04x}"


def ascii_json(data: bytes) -> str:
    """JSON text as an all-ASCII str (non-ASCII characters, which JSON holds only inside its
    strings, escaped as ``\\uXXXX``): the server encodes a text frame's str to UTF-8 again for
    every client, a plain copy for an ASCII str, while one Cyrillic letter (an airport's
    Russian name) makes it transcode the whole message (0.3 ms for 240 KiB, per client)."""
    if data.isascii():
        return data.decode("ascii")
    return _NON_ASCII.sub(_escape, data.decode("utf-8"))


def encode_delta(delta: Delta) -> str:
    """A delta's message, as every client receives it (thread-safe: the night's thread calls it)."""
    return ascii_json(_enc.encode({"type": "delta", "seq": delta.seq, "prev": delta.prev, "t": iso(delta.t), "data": delta.changed}))


def encode_body(value: Any) -> tuple[bytes, bytes]:
    """A collection as a read's body, as it is and gzipped (for the night's thread: the tracks,
    read several times a tick, cost the loop nothing)."""
    body = _enc.encode(value)
    return body, gzip.compress(body, GZIP_LEVEL, mtime=0)


def takes_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (named, or ``*``, with a q above 0)."""
    for part in accept_encoding.split(","):
        name, _, params = part.partition(";")
        if name.strip().lower() not in ("gzip", "*"):
            continue
        q = params.strip().lower()
        if not q.startswith("q="):
            return True
        try:
            return float(q[2:]) > 0
        except ValueError:
            return False
    return False


@dataclass(eq=False)  # hashed by identity: a set of clients
class Client:
    """One WebSocket client's messages waiting to be written; ``None`` ends it."""

    limit: int
    pending: deque[str | None] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: bool = False  # too slow: told to reconnect (4408)
    gone: bool = False  # it left

    def put(self, msg: str) -> bool:
        if self.dropped or self.gone:
            return True
        if len(self.pending) >= self.limit:
            return False
        self.pending.append(msg)
        self.wake.set()
        return True

    def end(self, *, gone: bool = False) -> None:
        """Stop it: what waits is thrown away and its writer told to close."""
        self.gone = self.gone or gone
        self.pending.clear()
        self.pending.append(None)
        self.wake.set()

    async def next(self) -> str | None:
        while not self.pending:
            self.wake.clear()
            await self.wake.wait()
        return self.pending.popleft()


@dataclass
class Hub:
    keep: int = 4096
    queue_size: int = 256
    state: dict[str, Any] = field(default_factory=dict)
    seq: int = 0
    clients: set[Client] = field(default_factory=set)
    # (seq, prev, message): text frames, encoded once for every client
    ring: deque[tuple[int, int, str]] = field(default_factory=deque)
    # a read's ETag names this process too: after a restart the same seq is another picture
    boot: str = field(default_factory=lambda: secrets.token_hex(4))
    fanout_batch: int = 10
    _fanout: deque[tuple[str, list[Client]]] = field(default_factory=deque)  # (message, to whom), in order
    _encoded: dict[str, bytes] = field(default_factory=dict)
    _gzipped: dict[str, asyncio.Future[bytes]] = field(default_factory=dict)
    _snapshot: str | None = None

    def set_state(self, state: dict[str, Any], seq: int, bodies: dict[str, tuple[bytes, bytes]] | None = None) -> None:
        """The picture at ``seq`` for the reads and the snapshots (with ``bodies``: collections
        the night's thread encoded already, ``encode_body``). It follows the delta's ``publish``
        by the time the night takes to build it; a client that subscribes meanwhile gets the
        deltas after it."""
        self.state, self.seq = state, seq
        self._encoded, self._gzipped, self._snapshot = {}, {}, None
        for name, (body, zipped) in (bodies or {}).items():
            self._encoded[name] = body
            self._gzipped[name] = done = asyncio.get_running_loop().create_future()
            done.set_result(zipped)

    def publish(self, seq: int, prev: int, msg: str) -> None:
        """One tick's delta, its message encoded already (``encode_delta``, by the night's
        thread), to every client (on the event loop): to those subscribed now, in batches of
        ``fanout_batch`` with the loop free in between, so that a read waits for one batch's
        writes, not all of them."""
        self.ring.append((seq, prev, msg))
        while len(self.ring) > self.keep:
            self.ring.popleft()
        self._fanout.append((msg, list(self.clients)))
        if len(self._fanout) == 1:
            self._fan()

    def _fan(self) -> None:
        msg, clients = self._fanout[0]
        for c in clients[: self.fanout_batch]:
            self._send(c, msg)
        if len(clients) > self.fanout_batch:
            self._fanout[0] = (msg, clients[self.fanout_batch :])
        else:
            self._fanout.popleft()
        if self._fanout:  # the rest after what waits on the loop now (the clients' writes, reads)
            asyncio.get_running_loop().call_soon(self._fan)

    def _send(self, c: Client, msg: str) -> None:
        if not c.put(msg):  # too slow: drop it; it comes back with its last seq
            c.dropped = True
            self.clients.discard(c)
            c.end()

    def encoded(self, name: str) -> bytes:
        """A collection at the head, encoded once per tick."""
        b = self._encoded.get(name)
        if b is None:
            b = self._encoded[name] = _enc.encode(self.state.get(name))
        return b

    def etag(self, name: str, *, gzipped: bool = False) -> str:
        """A read's ETag: this process, the head's seq, the collection (and its coding)."""
        return f'"{self.boot}-{self.seq}-{name}{"-gz" if gzipped else ""}"'

    def fresh(self, name: str, if_none_match: str) -> bool:
        """Whether a client that sent ``If-None-Match`` holds the collection at the head."""
        inm = if_none_match.strip()
        return inm == "*" or self.etag(name) in inm or self.etag(name, gzipped=True) in inm

    async def gzipped(self, name: str) -> bytes:
        """A collection at the head, gzipped once per tick (on a worker thread: zlib lets go
        of the interpreter while it compresses, so the loop goes on meanwhile)."""
        fut = self._gzipped.get(name)
        if fut is None:
            body = self.encoded(name)
            fut = self._gzipped[name] = asyncio.ensure_future(asyncio.to_thread(gzip.compress, body, GZIP_LEVEL, mtime=0))
        return await asyncio.shield(fut)

    def snapshot(self) -> str:
        """The head as a snapshot message, encoded once per tick (a hundred consoles that
        reconnect together cost one)."""
        if self._snapshot is None:
            self._snapshot = ascii_json(_enc.encode({"type": "snapshot", "seq": self.seq, "data": self.state}))
        return self._snapshot

    def subscribe(self, since: int | None) -> Client:
        """A new client, its queue already holding what it must see first: the deltas after
        ``since``, or the snapshot and the deltas after it (and room for ``queue_size`` more)."""
        first: list[str] = []
        head = self.ring[-1][0] if self.ring else self.seq
        if since is None or (since != head and not any(prev == since for _, prev, _ in self.ring)):
            first.append(self.snapshot())
            since = self.seq
        sending = False
        for _, prev, msg in self.ring:
            sending = sending or prev == since
            if sending:
                first.append(msg)
        c = Client(limit=self.queue_size + len(first))
        for msg in first:
            c.put(msg)
        self.clients.add(c)
        return c

    def close_all(self) -> None:
        """Tell every client to go (the service stops); they come back with their last seq."""
        for c in list(self.clients):
            c.end()
            self.clients.discard(c)

    def unsubscribe(self, c: Client) -> None:
        self.clients.discard(c)


__all__ = ["GZIP_MIN_BYTES", "Client", "Hub", "ascii_json", "encode_body", "encode_delta", "takes_gzip"]
