"""The WebSocket hub: one delta per tick, encoded once, to every client; a client is a cursor.

Runs on the event loop (the night's thread hands each tick over with ``call_soon_threadsafe``),
so taking a snapshot and subscribing happen with no tick in between: a client that connects
gets the snapshot at seq N and then exactly the deltas after N. The last ``keep`` deltas stay,
so a client that reconnects with ``since`` gets what it missed, no gap and no duplicate; one
that lagged further gets a snapshot. A client too slow to drain its queue is dropped (it
reconnects with its last seq).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import msgspec

from skywarden.service.live import Delta
from skywarden.service.picture import iso

_enc = msgspec.json.Encoder()


@dataclass(eq=False)  # hashed by identity: a set of clients
class Client:
    queue: asyncio.Queue[str | None]
    dropped: bool = False


@dataclass
class Hub:
    keep: int = 4096
    queue_size: int = 256
    state: dict[str, Any] = field(default_factory=dict)
    seq: int = 0
    clients: set[Client] = field(default_factory=set)
    # (seq, prev, message): text frames, decoded once for every client
    ring: deque[tuple[int, int, str]] = field(default_factory=deque)
    _encoded: dict[str, bytes] = field(default_factory=dict)

    def set_state(self, state: dict[str, Any], seq: int) -> None:
        self.state, self.seq = state, seq
        self._encoded = {}

    def publish(self, delta: Delta, state: dict[str, Any]) -> None:
        """One tick's delta to every client (on the event loop)."""
        msg = _enc.encode({"type": "delta", "seq": delta.seq, "prev": delta.prev, "t": iso(delta.t), "data": delta.changed}).decode()
        self.set_state(state, delta.seq)
        self.ring.append((delta.seq, delta.prev, msg))
        while len(self.ring) > self.keep:
            self.ring.popleft()
        for c in list(self.clients):
            self._send(c, msg)

    def _send(self, c: Client, msg: str | None) -> None:
        try:
            c.queue.put_nowait(msg)
        except asyncio.QueueFull:  # too slow: drop it; it comes back with its last seq
            c.dropped = True
            self.clients.discard(c)
            while not c.queue.empty():
                c.queue.get_nowait()
            c.queue.put_nowait(None)

    def encoded(self, name: str) -> bytes:
        """A collection at the head, encoded once per tick."""
        b = self._encoded.get(name)
        if b is None:
            b = self._encoded[name] = _enc.encode(self.state.get(name))
        return b

    def snapshot(self) -> str:
        return _enc.encode({"type": "snapshot", "seq": self.seq, "data": self.state}).decode()

    def subscribe(self, since: int | None) -> Client:
        """A new client, its queue already holding what it must see first."""
        c = Client(asyncio.Queue(maxsize=max(self.queue_size, len(self.ring) + 16)))
        if since is not None and since == self.seq:
            pass  # up to date
        elif since is not None and self.ring and any(prev == since for _, prev, _ in self.ring):
            sending = False
            for _, prev, msg in self.ring:
                sending = sending or prev == since
                if sending:
                    c.queue.put_nowait(msg)
        else:
            c.queue.put_nowait(self.snapshot())
        self.clients.add(c)
        return c

    def close_all(self) -> None:
        """Tell every client to go (the service stops); they come back with their last seq."""
        for c in list(self.clients):
            self._send(c, None)
            self.clients.discard(c)

    def unsubscribe(self, c: Client) -> None:
        self.clients.discard(c)


__all__ = ["Client", "Hub"]
