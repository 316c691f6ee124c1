"""One writer per night: who is writing, and the file lock the SQLite log takes.

Every backend lets one process at a time write a log (SQLite: an OS lock on a sidecar file;
PostgreSQL: a session advisory lock; NATS: a lease in a KV bucket), taken at the first append
and held until close, and checks before each append that the log still ends where this writer
left it (fencing). Readers never take the lock. A second writer gets :class:`WriterLockError`
naming the holder where it is known.
"""

from __future__ import annotations

import fcntl
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from skywarden.errors import LogError, WriterLockError


def writer_identity() -> str:
    """How a writer names itself to a second one: ``pid 4121 on host ops-1``."""
    return f"pid {os.getpid()} on host {socket.gethostname()}"


def changed_under_writer(where: str, seq: int, found: int) -> LogError:
    """The fencing error: the log moved although this process holds the writer lock."""
    return LogError(
        f"{where}: the log changed under this writer (it left record {seq}, the log now ends at "
        f"{found}); another process wrote to it: nothing appended"
    )


class FileLock:
    """An exclusive ``flock`` on ``path``, held while the file stays open; the OS drops it when
    the process dies, so a crashed writer never blocks the next one. The file holds the holder's
    identity for the error a second writer sees."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, what: str) -> None:
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 300, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise WriterLockError(f"{what}: night is being written by {holder}") from None
        os.ftruncate(fd, 0)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        os.pwrite(fd, f"{writer_identity()} since {since}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the descriptor drops the flock
