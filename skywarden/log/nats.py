"""The event log on NATS JetStream: one stream per log, one message per event.

URL: ``nats://host:4222?log=night1`` (log name default ``events``). The log lives in the stream
``SKYWARDEN_<LOG>`` on the subject ``skywarden.<log>.events``, file storage, limits retention
with no limits, and message deletion and purge denied (the stream itself can still be deleted
by an operator, see :meth:`NatsLog.drop`).

Each message's payload is the event's canonical JSON (the hashed bytes); its headers say where
it sits in the chain::

    Skywarden-Seq    the record's seq in the log (1, 2, 3, ...)
    Skywarden-Hash   sha256(previous hash || seq || payload), 64 hex digits
    Skywarden-Batch  a random id shared by the messages of one append call
    Skywarden-First  seq of the batch's first record
    Skywarden-Last   seq of the batch's last record (the message that carries it commits the batch)

Writers and atomicity. JetStream (2.9) stores messages one by one, so a batch is made atomic by
the reader: a batch counts once its last message is stored, and not at all before. The first
message of a batch carries ``Nats-Expected-Last-Sequence`` (the stream position the writer
chained from), every later one ``Nats-Expected-Last-Msg-Id`` (its predecessor in the batch), so
what a failed or raced append leaves behind is always a *prefix* of its batch with nothing else
in between. Readers drop such prefixes; :meth:`NatsLog.verify` therefore walks exactly the
committed batches, and the writer resumes from the last committed record. Nothing is ever
truncated: an aborted prefix stays in the stream as evidence. A second writer that raced ahead
makes the first message's expectation fail; the writer then re-reads the head and tries again,
so the chain never forks.

nats-py is asyncio; the log runs a private event loop on a background thread so that the
:class:`~skywarden.log.base.EventLog` interface stays synchronous.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Coroutine, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.client import JetStreamContext

from skywarden.errors import LogClosedError, LogError, TamperError, WriterLockError
from skywarden.events import Event, encode
from skywarden.log.base import log_name_of
from skywarden.log.chain import GENESIS, Columns, Record, VerifyReport, chain, verify_stored
from skywarden.log.checkpoint import Checkpoint, Notary
from skywarden.log.writer import changed_under_writer, writer_identity

CONNECT_TIMEOUT_S = 2.0
REQUEST_TIMEOUT_S = 10.0  # one JetStream API call
ACK_TIMEOUT_S = 60.0  # all acks of one batch
READ_CHUNK = 2048  # messages per pull
_ERR_WRONG_LAST_SEQ = 10071
WRITERS_BUCKET = "SKYWARDEN_WRITERS"  # KV bucket: one lease per log, key = the log's name
LEASE_S = 30.0  # a writer's lease lasts this long unless renewed (a crashed writer's expires)

H_SEQ, H_HASH, H_BATCH, H_FIRST, H_LAST = (
    "Skywarden-Seq",
    "Skywarden-Hash",
    "Skywarden-Batch",
    "Skywarden-First",
    "Skywarden-Last",
)

T = TypeVar("T")


def split_url(url: str) -> tuple[str, str]:
    """``(server URL without 'log', log name)``; raises :class:`LogError` on a bad name."""
    parts = urlsplit(url)
    query, name = log_name_of(url)
    rest = urlencode(query)
    return urlunsplit(parts._replace(query=rest)), name


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


@dataclass(frozen=True, slots=True)
class Stamp:
    """The chain headers of one stored message (``None`` from :func:`stamp_of` if foreign)."""

    seq: int
    hash: bytes
    batch: str
    first: int
    last: int


def stamp_of(headers: dict[str, str] | None) -> Stamp | None:
    """Parse a message's Skywarden headers; ``None`` when absent or malformed (not a record)."""
    if not headers:
        return None
    try:
        s = Stamp(
            seq=int(headers[H_SEQ]),
            hash=bytes.fromhex(headers[H_HASH]),
            batch=headers[H_BATCH],
            first=int(headers[H_FIRST]),
            last=int(headers[H_LAST]),
        )
    except (KeyError, ValueError):
        return None
    if not (1 <= s.first <= s.seq <= s.last) or len(s.hash) != 32:
        return None
    return s


def batch_messages(
    records: Sequence[Record], batch: str, stream_last: int
) -> list[tuple[bytes, dict[str, str]]]:
    """``(payload, headers)`` for one batch chained after stream position ``stream_last``."""
    first, last = records[0].seq, records[-1].seq
    out: list[tuple[bytes, dict[str, str]]] = []
    for k, r in enumerate(records):
        h = {
            H_SEQ: str(r.seq),
            H_HASH: r.hash.hex(),
            H_BATCH: batch,
            H_FIRST: str(first),
            H_LAST: str(last),
            "Nats-Msg-Id": f"{batch}.{k}",
        }
        if k == 0:
            h["Nats-Expected-Last-Sequence"] = str(stream_last)
        else:
            h["Nats-Expected-Last-Msg-Id"] = f"{batch}.{k - 1}"
        out.append((r.data, h))
    return out


def _bad_header_name(headers: dict[str, str] | None) -> str:
    """The first Skywarden header that is missing or malformed (or the bounds that disagree)."""
    h = headers or {}
    for name in (H_SEQ, H_HASH, H_BATCH, H_FIRST, H_LAST):
        if name not in h:
            return name
    for name in (H_SEQ, H_FIRST, H_LAST):
        if not h[name].isdigit():
            return name
    try:
        if len(bytes.fromhex(h[H_HASH])) != 32:
            return H_HASH
    except ValueError:
        return H_HASH
    return f"{H_FIRST}/{H_SEQ}/{H_LAST}"


def _bad_header(headers: dict[str, str] | None) -> str:
    name = _bad_header_name(headers)
    value = (headers or {}).get(name)
    return f"no {name} header" if value is None and "/" not in name else f"a bad {name} ({value!r})" if value is not None else "batch bounds that do not hold"


class _Committed:
    """Reader state machine: feeds stored messages in stream order, yields committed records.

    A batch is committed when all its messages, first to last, arrived consecutively with the
    same batch id. A new batch start discards an unfinished one (the prefix an aborted append
    left); a message that continues nothing (foreign, or the tail of a raced batch) is dropped.
    """

    def __init__(self) -> None:
        self._buf: list[tuple[Stamp, bytes]] = []
        self.dropped = 0  # messages that belong to no committed batch

    def feed(self, stamp: Stamp | None, data: bytes) -> list[Record]:
        if stamp is None:
            self._drop()
            self.dropped += 1
            return []
        if stamp.seq == stamp.first:
            self._drop()
            self._buf = [(stamp, data)]
        elif (
            self._buf
            and self._buf[-1][0].batch == stamp.batch
            and stamp.seq == self._buf[-1][0].seq + 1
        ):
            self._buf.append((stamp, data))
        else:
            self._drop()
            self.dropped += 1
            return []
        if stamp.seq == stamp.last:
            done, self._buf = self._buf, []
            return [Record(s.seq, d, s.hash) for s, d in done]
        return []

    def _drop(self) -> None:
        self.dropped += len(self._buf)
        self._buf = []


class NatsLog:
    """Hash-chained event log in one JetStream stream (see the module docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._server, self.name = split_url(url)
        self.stream = f"SKYWARDEN_{self.name.upper()}"
        self.subject = f"skywarden.{self.name}.events"
        self.cp_stream = f"{self.stream}_CHECKPOINTS"
        self.cp_subject = f"skywarden.{self.name}.checkpoints"
        self.notary: Notary | None = None
        self._lease: tuple[int, float] | None = None  # (KV revision, expiry) while writing
        # whose lease it is: a writer that reopens the log after losing the server (a patient
        # log) hands its token to the new client, which then renews the lease it held
        self.lease_token = os.urandom(8).hex()
        self._closed = True
        self._lock = threading.RLock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"nats-log-{self.name}", daemon=True
        )
        self._thread.start()
        try:
            self._nc: Client = self._run(self._connect(), CONNECT_TIMEOUT_S * 3)
            self._js = self._nc.jetstream(timeout=REQUEST_TIMEOUT_S)
            self._run(self._ensure_stream())
            self._seq, self._head, self._stream_last = self._run(self._recover())
        except BaseException:
            if hasattr(self, "_nc"):
                with contextlib.suppress(LogError):
                    self._run(self._nc.close(), REQUEST_TIMEOUT_S)
            self._stop_loop()
            raise
        self._closed = False

    # ----------------------------------------------------------------------------- loop plumbing

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float = REQUEST_TIMEOUT_S * 3) -> T:
        """Run ``coro`` on the private loop and wait; NATS failures become :class:`LogError`."""
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        deadline = time.monotonic() + timeout
        try:
            # waited for in short steps: a client that gave up reconnecting (the server went
            # away) answers nothing more, and the caller hears so at once, not at the timeout
            while True:
                try:
                    return fut.result(min(0.25, max(0.0, deadline - time.monotonic())))
                except TimeoutError:
                    nc = getattr(self, "_nc", None)
                    if fut.done() or time.monotonic() >= deadline or (nc is not None and nc.is_closed):
                        raise  # (done: the coroutine's own timeout)
        except TimeoutError as exc:
            nc = getattr(self, "_nc", None)
            fut.cancel()
            if nc is not None and nc.is_closed:
                raise LogError(f"{_redacted(self.url)}: the connection closed (the server went away)") from exc
            raise LogError(f"{_redacted(self.url)}: no answer within {timeout:.0f} s") from exc
        except (nats.errors.Error, OSError) as exc:
            raise LogError(f"{_redacted(self.url)}: {type(exc).__name__}: {exc}") from exc

    def _stop_loop(self) -> None:
        # a client given up on mid-reconnect (the server away, or refusing) leaves tasks on the
        # loop: they are cancelled and awaited here, or closing the loop under them would print
        # "Task was destroyed but it is pending!" and tracebacks on the operator's terminal
        async def cancel_the_rest() -> None:
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        if self._loop.is_running():
            with contextlib.suppress(Exception):  # whatever they raise, they are gone
                asyncio.run_coroutine_threadsafe(cancel_the_rest(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    async def _connect(self) -> Client:
        async def quiet(exc: Exception) -> None:  # errors surface through the calls that fail
            return None

        try:
            return await nats.connect(
                self._server,
                connect_timeout=CONNECT_TIMEOUT_S,
                allow_reconnect=True,
                max_reconnect_attempts=3,
                reconnect_time_wait=0.5,
                error_cb=quiet,
            )
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            raise LogError(
                f"cannot reach NATS at {_redacted(self.url)}: {type(exc).__name__} {exc}".strip()
            ) from exc

    async def _ensure_stream(self) -> None:
        try:
            info = await self._js.stream_info(self.stream)
        except nats.js.errors.NotFoundError:
            await self._js.add_stream(
                StreamConfig(
                    name=self.stream,
                    description="Skywarden event log (hash-chained, one event per message)",
                    subjects=[self.subject],
                    storage=StorageType.FILE,
                    retention=RetentionPolicy.LIMITS,
                    discard=DiscardPolicy.NEW,  # never drop history to make room
                    max_msgs=-1,
                    max_bytes=-1,
                    max_age=0,
                    deny_delete=True,
                    deny_purge=True,
                )
            )
            return
        except nats.js.errors.ServiceUnavailableError as exc:
            raise LogError(
                f"{_redacted(self.url)}: JetStream is not enabled on this server"
            ) from exc
        if self.subject not in (info.config.subjects or []):
            raise LogError(
                f"stream {self.stream} exists but does not carry {self.subject}: not a Skywarden log"
            )

    async def _stamp_at(self, pos: int) -> Stamp | None:
        msg = await self._js.get_msg(self.stream, pos)
        return stamp_of(dict(msg.headers) if msg.headers else None)

    async def _recover(self) -> tuple[int, bytes, int]:
        """``(seq, hash, stream position)`` of the last committed record, and the stream's end.

        Walks back from the stream's last message over aborted batch prefixes (each step jumps
        to the message before the prefix's first one); a clean log takes one lookup.
        """
        state = (await self._js.stream_info(self.stream)).state
        end = state.last_seq
        pos = end
        while pos >= max(state.first_seq, 1):
            s = await self._stamp_at(pos)
            if s is None:
                pos -= 1
            elif s.seq == s.last:
                first_pos = pos - (s.seq - s.first)
                start = s if first_pos == pos else await self._stamp_at(first_pos)
                if start is not None and start.batch == s.batch and start.seq == s.first:
                    return s.seq, s.hash, end
                pos = first_pos - 1
            else:
                pos -= s.seq - s.first + 1
        return 0, GENESIS, end

    async def _publish(self, msgs: list[tuple[bytes, dict[str, str]]]) -> list[dict[str, Any]]:
        """Publish pipelined, then wait for every ack; the acks as JSON, in order."""
        nc = self._nc
        inbox = nc.new_inbox()
        loop = asyncio.get_running_loop()
        futs: list[asyncio.Future[dict[str, Any]]] = [loop.create_future() for _ in msgs]
        cut = len(inbox) + 1

        async def on_ack(m: Msg) -> None:
            i = int(m.subject[cut:])
            if not futs[i].done():
                try:
                    futs[i].set_result(json.loads(m.data))
                except ValueError:
                    futs[i].set_result({"error": {"description": f"bad ack {m.data[:80]!r}"}})

        sub = await nc.subscribe(inbox + ".*", cb=on_ack)
        reconnects = nc.stats["reconnects"]
        try:
            for i, (data, h) in enumerate(msgs):
                await nc.publish(self.subject, data, reply=f"{inbox}.{i}", headers=h)
            await nc.flush(int(REQUEST_TIMEOUT_S))
            gathered = asyncio.gather(*futs)
            # read whatever it ends with, so that a batch given up on leaves nothing unheard
            gathered.add_done_callback(lambda g: g.cancelled() or g.exception())
            deadline = loop.time() + ACK_TIMEOUT_S
            while not gathered.done():
                await asyncio.wait([gathered], timeout=min(0.25, max(0.0, deadline - loop.time())))
                if gathered.done():
                    break
                # a server restarted under the batch forgets its acks: the client's reconnect
                # says so at once, where waiting out ACK_TIMEOUT_S would stall the night a minute
                if nc.stats["reconnects"] != reconnects or nc.is_reconnecting:
                    gathered.cancel()
                    raise nats.errors.ConnectionReconnectingError()
                if loop.time() >= deadline:
                    gathered.cancel()
                    raise TimeoutError
            return gathered.result()
        finally:
            with contextlib.suppress(nats.errors.Error):  # a closed connection has no subscription left
                await sub.unsubscribe()

    # ----------------------------------------------------------------------------- one writer

    async def _writers(self) -> Any:
        try:
            return await self._js.key_value(WRITERS_BUCKET)
        except nats.js.errors.BucketNotFoundError:
            return await self._js.create_key_value(bucket=WRITERS_BUCKET, history=1)

    def _lease_value(self, until: float) -> bytes:
        return json.dumps(
            {"holder": writer_identity(), "token": self.lease_token, "until": until}
        ).encode()

    async def _take_lease(self, wait_s: float = 0.0, on_wait: Callable[[str], None] | None = None) -> tuple[int, float]:
        """The night's writer lease (KV create, or take over an expired one by revision).

        A lease held by another writer is refused, unless it runs out within ``wait_s``: then
        its revision is watched until it does. A writer killed mid-night never renews it, and
        the lease is taken once it ends; a live writer renews it (within half a lease, at its
        next append), and the wait ends there, refused."""
        kv = await self._writers()
        until = time.time() + LEASE_S
        try:
            return await kv.create(self.name, self._lease_value(until)), until
        except nats.js.errors.KeyWrongLastSequenceError:
            pass
        entry = await kv.get(self.name)
        try:
            cur = json.loads(entry.value or b"{}")
            holder, their_until, token = str(cur["holder"]), float(cur["until"]), cur["token"]
        except (ValueError, KeyError, TypeError):
            holder, their_until, token = "an unreadable lease", 0.0, None
        if their_until > time.time() and token != self.lease_token:
            left = their_until - time.time()
            if left > wait_s:
                raise WriterLockError(
                    f"{_redacted(self.url)}: night is being written by {holder} "
                    f"(lease renewed while it writes; expires in {left:.0f} s if it stopped)"
                )
            if on_wait is not None:
                on_wait(f"the night's last writer, {holder}, holds its lease {left:.0f} s more: "
                        "waiting for it to end (a writer still writing renews it)")  # fmt: skip
            while time.time() < their_until:
                await asyncio.sleep(min(0.5, max(0.0, their_until - time.time())))
                try:
                    seen = await kv.get(self.name)
                except nats.js.errors.KeyNotFoundError:  # released meanwhile (deleted)
                    return await self._take_lease()
                if seen.revision != entry.revision:  # renewed (refused), released or taken
                    return await self._take_lease()
            # run out, never renewed: taken over below, by the revision watched
        try:  # expired (or ours): take it over, unless someone else does so first
            return await kv.update(self.name, self._lease_value(until), last=entry.revision), until
        except nats.js.errors.KeyWrongLastSequenceError:
            raise WriterLockError(f"{_redacted(self.url)}: another writer took the night just now") from None

    async def _renew_lease(self, rev: int) -> tuple[int, float]:
        kv = await self._writers()
        until = time.time() + LEASE_S
        try:
            return await kv.update(self.name, self._lease_value(until), last=rev), until
        except nats.js.errors.KeyWrongLastSequenceError:
            raise WriterLockError(
                f"{_redacted(self.url)}: this writer's lease was taken by another process "
                "(it was idle past the lease); nothing appended"
            ) from None

    def hold(self, wait_s: float = 0.0, on_wait: Callable[[str], None] | None = None) -> None:
        """Take the night's writer lease now (the first append takes it anyway); ``wait_s``:
        see ``_take_lease``."""
        with self._lock:
            self._hold_lease(wait_s, on_wait)

    def _hold_lease(self, wait_s: float = 0.0, on_wait: Callable[[str], None] | None = None) -> None:
        """Take the lease at the first append; renew it once half of it has run."""
        if self._lease is None:
            if self.notary is not None:
                self.notary.prepare()  # a key that cannot be read stops the writer before it writes
            self._lease = self._run(self._take_lease(wait_s, on_wait), REQUEST_TIMEOUT_S * 3 + wait_s)
            # fencing starts from the log as it is once the lease is ours
            self._seq, self._head, self._stream_last = self._run(self._recover())
        elif time.time() > self._lease[1] - LEASE_S / 2:
            self._lease = self._run(self._renew_lease(self._lease[0]))

    async def _release_lease(self, rev: int) -> None:
        kv = await self._writers()
        with contextlib.suppress(nats.js.errors.Error):
            await kv.delete(self.name, last=rev)

    # ----------------------------------------------------------------------------- EventLog

    def append(self, events: Sequence[Event]) -> int:
        """Append in order; the batch counts only once its last message is stored."""
        with self._lock:  # one batch at a time per instance: the head is shared state
            return self._append(events)

    def _append(self, events: Sequence[Event]) -> int:
        if self._closed:
            raise LogClosedError(f"{_redacted(self.url)} is closed")
        if not events:
            return self._seq
        payloads = [encode(e) for e in events]
        limit = self._nc.max_payload
        for i, p in enumerate(payloads):
            if len(p) > limit - 1024:  # headers travel in the same message
                raise LogError(
                    f"event {i} of the batch ({type(events[i]).__name__}) is {len(p)} bytes; "
                    f"this NATS server takes at most {limit} per message: nothing written"
                )
        self._hold_lease()
        for _ in range(2):
            records = list(chain(self._head, self._seq + 1, payloads))
            msgs = batch_messages(records, os.urandom(8).hex(), self._stream_last)
            try:
                acks = self._run(self._publish(msgs), ACK_TIMEOUT_S + REQUEST_TIMEOUT_S)
            except LogError:
                self._resync_quietly()
                raise
            stored = 0
            for ack in acks:
                if "error" in ack:
                    break
                stored += 1
            if stored == len(acks):
                self._seq, self._head = records[-1].seq, records[-1].hash
                self._stream_last = int(acks[-1]["seq"])
                if self.notary is not None:
                    self.notary.appended(self, records[0].seq, payloads, self._head)
                return self._seq
            err = acks[stored]["error"]
            if stored == 0 and err.get("err_code") == _ERR_WRONG_LAST_SEQ:
                # Fencing: the stream moved. Only an unfinished prefix (this writer's own, from
                # an append that failed midway) may stand between; records written by anyone
                # else are refused, and this writer does not chain onto them.
                seq, head, stream_last = self._run(self._recover())
                if (seq, head) != (self._seq, self._head):
                    raise changed_under_writer(_redacted(self.url), self._seq, seq)
                self._stream_last = stream_last
                continue
            self._seq, self._head, self._stream_last = self._run(self._recover())
            raise LogError(
                f"{_redacted(self.url)}: append stopped after {stored} of {len(msgs)} messages "
                f"({err.get('description', err)}); the partial batch does not count, "
                f"the log stays at record {self._seq}"
            )
        raise LogError(f"{_redacted(self.url)}: the stream kept moving under this writer; nothing appended")

    def _resync_quietly(self) -> None:
        # On failure the next append's expected-sequence check refuses a stale head anyway.
        with contextlib.suppress(LogError):
            self._seq, self._head, self._stream_last = self._run(self._recover())

    def read(self, after: int = 0) -> Generator[Record, None, None]:
        """Committed records with seq > ``after``, in order, pulled in chunks."""
        reader = _Committed()
        for stamp, data in self._messages(after):
            for rec in reader.feed(stamp, data):
                if rec.seq > after:
                    yield rec

    def _messages(self, after: int) -> Iterator[tuple[Stamp | None, bytes]]:
        """Stored messages from the batch holding the record after ``after`` to the stream's end."""
        for _, _, headers, data in self._raw(after):
            yield stamp_of(headers), data

    def _raw(
        self, after: int, every_subject: bool = False
    ) -> Iterator[tuple[int, str, dict[str, str] | None, bytes]]:
        """``(stream position, subject, headers, payload)`` of the stored messages from the batch
        holding the record after ``after`` to the stream's end (``every_subject``: also those on
        subjects other than the log's, which an operator could have added to the stream)."""
        if self._closed:
            raise LogClosedError(f"{_redacted(self.url)} is closed")
        state = self._run(self._js.stream_info(self.stream)).state
        end, start = state.last_seq, max(state.first_seq, 1, after + 1)
        if start > end or state.messages == 0:
            return
        # Record ``after + 1`` sits at stream position >= after + 1 (aborted prefixes only push
        # records later); start at the first message of the batch found there.
        if after:
            s = self._run(self._stamp_at(start))
            if s is not None:
                start = max(start - (s.seq - s.first), state.first_seq, 1)
        psub = self._run(
            self._js.pull_subscribe(
                ">" if every_subject else self.subject,
                durable=None,
                stream=self.stream,
                config=ConsumerConfig(
                    deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                    opt_start_seq=start,
                    ack_policy=AckPolicy.NONE,
                    inactive_threshold=60.0,
                ),
            )
        )
        try:
            pos = start - 1
            while pos < end:
                chunk = self._run(self._pull(psub, min(READ_CHUNK, end - pos)))
                if not chunk:
                    raise LogError(
                        f"{_redacted(self.url)}: stream stopped at position {pos} of {end}"
                    )
                for spos, subject, headers, data in chunk:
                    if spos > end:
                        return
                    pos = spos
                    yield spos, subject, headers, data
        finally:
            # Should this fail, the ephemeral consumer expires on its own (inactive_threshold).
            if not self._loop.is_closed():
                with contextlib.suppress(LogError):
                    self._run(psub.unsubscribe(), REQUEST_TIMEOUT_S)

    @staticmethod
    async def _pull(
        psub: JetStreamContext.PullSubscription, n: int
    ) -> list[tuple[int, str, dict[str, str] | None, bytes]]:
        try:
            msgs = await psub.fetch(n, timeout=REQUEST_TIMEOUT_S)
        except nats.errors.TimeoutError:
            return []
        return [
            (m.metadata.sequence.stream, m.subject, dict(m.headers) if m.headers else None, m.data)
            for m in msgs
        ]

    def stored_rows(self) -> Generator[tuple[Record, Columns], None, None]:
        """Committed records with what the stream stores beside them (subject, headers), for
        verify. Stricter than :meth:`read`: a message without valid Skywarden headers, or whose
        headers contradict its batch, is named as tampering; only an unfinished batch prefix
        that the next batch restarts (or that ends the stream) is passed over, as a crash
        leaves it."""
        pending: list[tuple[int, Stamp, bytes, str]] = []
        want = 1  # seq of the next record
        for pos, subject, headers, data in self._raw(0, every_subject=True):
            if subject != self.subject:
                raise TamperError(
                    pending[-1][1].seq + 1 if pending else want,
                    f"stream message {pos} is on subject {subject!r}, not {self.subject!r}",
                    "subject",
                )
            stamp = stamp_of(headers)
            if stamp is None:
                raise TamperError(
                    pending[-1][1].seq + 1 if pending else want,
                    f"stream message {pos} has {_bad_header(headers)}",
                    _bad_header_name(headers),
                )
            if stamp.seq == stamp.first:
                if pending and pending[0][1].seq != stamp.seq:
                    raise TamperError(pending[0][1].seq, f"stream message {pending[0][0]}: batch {pending[0][1].batch} never finished and was not restarted", H_LAST)
                pending = []
                if stamp.seq != want:
                    raise TamperError(want, f"stream message {pos} holds record {stamp.seq}", H_SEQ)
            else:
                prev = pending[-1][1] if pending else None
                if prev is None:
                    raise TamperError(want, f"stream message {pos} holds record {stamp.seq}, inside a batch whose start is missing", H_SEQ)
                if prev.batch != stamp.batch:
                    raise TamperError(prev.seq + 1, f"stream message {pos}: batch {stamp.batch} continues nothing", H_BATCH)
                if stamp.seq != prev.seq + 1:
                    raise TamperError(prev.seq + 1, f"stream message {pos} holds record {stamp.seq}", H_SEQ)
                if (stamp.first, stamp.last) != (prev.first, prev.last):
                    raise TamperError(stamp.seq, f"stream message {pos}: batch bounds {stamp.first}..{stamp.last} differ from its batch's", f"{H_FIRST}/{H_LAST}")
            msg_id = (headers or {}).get("Nats-Msg-Id")
            if msg_id != f"{stamp.batch}.{stamp.seq - stamp.first}":
                raise TamperError(stamp.seq, f"stream message {pos}: Nats-Msg-Id {msg_id!r} does not match its batch", "Nats-Msg-Id")
            pending.append((pos, stamp, data, subject))
            if stamp.seq == stamp.last:
                for _, st, d, subj in pending:
                    yield Record(st.seq, d, st.hash), {"subject": subj}
                want, pending = stamp.last + 1, []

    def expected_columns(self, rec: Record, ev: Event) -> Columns:
        return {"subject": self.subject}

    def last_seq(self) -> int:
        """The seq of the last committed record as the stream has it now (other writers too)."""
        if not self._closed:
            with self._lock:
                self._seq, self._head, self._stream_last = self._run(self._recover())
        return self._seq

    def verify(self) -> VerifyReport:
        # closing(): a TamperError must not leave the reader's cursor open until GC.
        with contextlib.closing(self.stored_rows()) as rows:
            return verify_stored(rows, self.expected_columns)

    # ----------------------------------------------------------------------------- checkpoints

    async def _ensure_cp_stream(self) -> None:
        try:
            await self._js.stream_info(self.cp_stream)
        except nats.js.errors.NotFoundError:
            await self._js.add_stream(
                StreamConfig(
                    name=self.cp_stream,
                    description="Skywarden signed checkpoints of the log beside it",
                    subjects=[self.cp_subject],
                    storage=StorageType.FILE,
                    retention=RetentionPolicy.LIMITS,
                    discard=DiscardPolicy.NEW,
                    max_msgs=-1,
                    max_bytes=-1,
                    max_age=0,
                    deny_delete=True,
                    deny_purge=True,
                )
            )

    def put_checkpoint(self, cp: Checkpoint) -> None:
        async def put() -> None:
            await self._ensure_cp_stream()
            await self._js.publish(self.cp_subject, cp.to_json(with_frontier=True).encode(), stream=self.cp_stream)

        with self._lock:
            self._run(put())

    def checkpoints(self) -> list[Checkpoint]:
        async def get_all() -> list[bytes]:
            try:
                state = (await self._js.stream_info(self.cp_stream)).state
            except nats.js.errors.NotFoundError:
                return []
            out = []
            for pos in range(max(state.first_seq, 1), state.last_seq + 1):
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    out.append((await self._js.get_msg(self.cp_stream, pos)).data or b"")
            return out

        return [Checkpoint.from_json(d) for d in self._run(get_all())]

    def close(self) -> None:
        """Drain the connection (pending publishes and acks finish) and stop the loop."""
        if self._closed:
            return
        try:
            if self.notary is not None and self._lease is not None:
                self.notary.close(self)
        finally:
            self._close()

    def _close(self) -> None:
        self._closed = True
        try:
            if self._lease is not None:
                with contextlib.suppress(LogError):
                    self._run(self._release_lease(self._lease[0]))
                self._lease = None
            self._run(self._nc.drain(), REQUEST_TIMEOUT_S * 2)
        except LogError:  # no server to drain to: closed without it (its reconnects end)
            with contextlib.suppress(LogError):
                self._run(self._nc.close(), REQUEST_TIMEOUT_S)
        finally:
            self._stop_loop()

    # ----------------------------------------------------------------------------- admin

    def drop(self) -> None:
        """Delete this log's stream and everything in it (tests and throwaway nights)."""
        if self._closed:
            raise LogClosedError(f"{_redacted(self.url)} is closed")

        async def delete() -> None:
            for stream in (self.stream, self.cp_stream):
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await self._js.delete_stream(stream)

        try:
            self._run(delete())
        finally:
            self.close()
