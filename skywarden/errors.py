"""Every error Skywarden raises on purpose, as one tree.

    SkywardenError
    ├── ConfigError            settings that cannot work together
    │   └── ScenarioError      a scenario or policy file is wrong (names file, key, line)
    ├── LogError               the event log
    │   ├── TamperError        the hash chain is broken (names the record)
    │   ├── LogClosedError     append after close
    │   └── WriterLockError    another process is writing this night
    ├── IngestError            a report that cannot be read (becomes a ReportRejected event)
    ├── TransitionError        an illegal status change (crew, statement, incident)
    ├── ApprovalError          a statement approval refused (wrong role, same officer twice)
    └── ChannelError           a publishing channel failed after its retries
"""

from __future__ import annotations


class SkywardenError(Exception):
    """Base of every error raised on purpose."""


class ConfigError(SkywardenError):
    pass


class ScenarioError(ConfigError):
    def __init__(self, file: str, where: str, what: str, line: int | None = None) -> None:
        self.file, self.where, self.what, self.line = file, where, what, line
        loc = file + (f":{line}" if line else "") + (f" [{where}]" if where else "")
        super().__init__(f"{loc}: {what}")


class LogError(SkywardenError):
    pass


class TamperError(LogError):
    """``seq``: the first record that does not fit; ``column``: the stored field that does not
    (``data``, ``hash``, ``seq``, ``t``, ``kind``, a NATS header, ...) when one can be named."""

    def __init__(self, seq: int, what: str, column: str | None = None) -> None:
        self.seq, self.column = seq, column
        super().__init__(f"record {seq}" + (f", column {column}" if column else "") + f": {what}")


class WriterLockError(LogError):
    """Another process is writing this night (one writer per log, enforced by every backend)."""


class LogClosedError(LogError):
    pass


class IngestError(SkywardenError):
    pass


class TransitionError(SkywardenError):
    def __init__(self, what: str, current: str, wanted: str) -> None:
        self.what, self.current, self.wanted = what, current, wanted
        super().__init__(f"{what}: cannot go from {current!r} to {wanted!r}")


class ApprovalError(SkywardenError):
    pass


class ChannelError(SkywardenError):
    pass
