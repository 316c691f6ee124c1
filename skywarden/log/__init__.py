"""Event-log backends and the projections built from them.

``open_log(url)`` picks a backend by URL: a plain path or ``sqlite:///path`` (default),
``memory://`` (the in-memory twin), and, when configured, ``postgresql://...`` and
``nats://...`` (JetStream).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from skywarden.errors import ConfigError
from skywarden.log.base import EventLog
from skywarden.log.chain import GENESIS, Record, VerifyReport, link, verify_records
from skywarden.log.checkpoint import Checkpoint, Notary, Signing
from skywarden.log.memory import MemoryLog
from skywarden.log.sqlite import SqliteLog

FROM_ENV = "env"  # open_log's default: the site's signing settings from SKYWARDEN_KEY etc.


def open_log(url: str | Path, signing: Signing | None | str = FROM_ENV) -> EventLog:
    """Open (or create) the event log at ``url``.

    ``signing``: the site's key, checkpoint interval and witness (``Signing``), None for an
    unsigned log, or by default what ``SKYWARDEN_KEY`` / ``SKYWARDEN_CHECKPOINT_EVERY`` /
    ``SKYWARDEN_WITNESS`` say. Checkpoints are only written by a process that appends.
    """
    if isinstance(signing, str):
        signing = Signing.from_env()
    log = _open_backend(str(url))
    if signing is not None:
        log.notary = Notary(signing)  # type: ignore[attr-defined]  # every backend has one
    return log


RESUME_WAIT_S = 35.0  # what a resuming writer waits for a killed one's lease (NATS: 30 s)


def hold_writer(log: EventLog, wait_s: float = 0.0, on_wait: Callable[[str], None] | None = None) -> None:
    """Take ``log``'s writer lock now, before a command's work (a replay, say), so that a night
    another process is writing is refused at once; raises ``WriterLockError``.

    ``wait_s``: where the lock is a lease that a writer must renew (NATS), and the last writer's
    runs out within ``wait_s``, wait for it (saying so through ``on_wait``) rather than refuse: a
    writer killed mid-night is gone once its lease ends, and a live one renews it, which refuses
    the wait at once. A resume after a crash needs no retry by hand."""
    hold = getattr(log, "hold", None)
    if hold is not None:
        if wait_s > 0:
            hold(wait_s=wait_s, on_wait=on_wait)
        else:
            hold()


def _open_backend(s: str) -> EventLog:
    if s.startswith("memory://"):
        return MemoryLog()
    if s.startswith(("postgresql://", "postgres://")):
        try:
            from skywarden.log.postgres import PostgresLog
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ConfigError("PostgreSQL log needs 'pip install skywarden[postgres]'") from exc
        return PostgresLog(s)
    if s.startswith("nats://"):
        try:
            from skywarden.log.nats import NatsLog
        except ImportError as exc:  # pragma: no cover
            raise ConfigError("NATS JetStream log needs 'pip install skywarden[nats]'") from exc
        return NatsLog(s)
    if "://" in s and not s.startswith("sqlite:///"):
        raise ConfigError(f"unknown event-log URL {s!r}: use a path, sqlite:///, memory://, postgresql:// or nats://")
    return SqliteLog(s.removeprefix("sqlite:///"))


__all__ = [
    "FROM_ENV",
    "GENESIS",
    "Checkpoint",
    "Signing",
    "EventLog",
    "MemoryLog",
    "Record",
    "SqliteLog",
    "VerifyReport",
    "RESUME_WAIT_S",
    "hold_writer",
    "link",
    "open_log",
    "verify_records",
]
