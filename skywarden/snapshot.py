"""Stage snapshots: the stages' state after a log's last tick, kept beside a SQLite log.

A command that adds one tick to a finished night (``claim add``, ``statement approve``) needs
the stages as they were after the last tick; rebuilding them means replaying the whole night
(tens of seconds for the default one). A snapshot is a cache of that state: ``save`` writes it
after a night is played or a tick injected, ``restore`` hands it back only while it is exactly
the state a replay would rebuild, i.e. when

* the log's head (last sequence number and its chain hash) is the one the snapshot was taken at,
* the code is the same (a fingerprint of the package's source files),
* the stages are the same, in the same order,

and only when the file is signed (below). Anything else (another record appended, a changed
tracker, a damaged file, a forged file) and the caller replays as before; a snapshot is never
needed for correctness and may be deleted at any time. Logs other than SQLite files have no
snapshot (their caller replays).

The file (``<log>.stages``) is a header line, the signature line, a JSON line naming the head,
code, stages, the sections' sizes and SHA-256s, then the sections: the stages in ``ALONE`` each
pickled on its own (``restore_stage``: a command that reads one stage's state, such as
``skywarden statement list``, loads that one and imports nothing else), then the payload: all
the stages pickled together (so objects they share stay shared).

Why signed, not another format. Unpickling runs code named in the file, and everything the
header holds (the head, the code's fingerprint, the stage names) anyone can compute, so a file
planted beside the log would otherwise run its code on the next ``claim add``. The stages' state
is arbitrary objects (numpy arrays, the road graph, the policy's matchers, the trackers'
structures), which a data-only format could hold only through a serialiser written and kept up
for every stage; a signature keeps the one ``pickle`` and lets nothing unsigned reach it. The
signature covers the JSON line, which names every section's SHA-256: it is checked before
anything is parsed, each section's hash before it is unpickled.

Which key. A site with a signing key (``SKYWARDEN_KEY``, the key of its checkpoints) signs the
snapshot with it, Ed25519, and a snapshot is used only when that key's public half verifies it
(``SKYWARDEN_PUBLIC_KEY`` when set, so that a reader need not read the private key, else the
private key's public half): a snapshot signed by any other key, altered, signed the old way
or not at all is refused with a warning naming why (``logging``, on stderr) and the caller
replays. The trust is then the log's own: whoever can make a snapshot run can also sign
checkpoints. A site without a key keeps the HMAC-SHA256 of before, under a key of the user's
(``site_key_path``: 32 random bytes, hex, in ``snapshot.key``) in the user's configuration
folder (``$SKYWARDEN_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/skywarden``, else
``~/.config/skywarden``), created 0600 on first use, not beside the log: whoever can write the
log's folder could replace a key kept there with one of their own. A key file that others may
read or write (any group or other permission) is not used: no snapshot is written or trusted
until it is fixed, and every command still works by replaying. A snapshot that fails the HMAC
is ignored silently, as before (another user's snapshot is routine there).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import pickle
import secrets
import stat
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from skywarden.errors import ConfigError
from skywarden.log.base import EventLog
from skywarden.log.checkpoint import ENV_PUBLIC_KEY, key_id_of, load_private, load_public

if TYPE_CHECKING:
    from skywarden.runtime import Runtime
    from skywarden.stage import Stage

MAGIC = b"SKYWARDEN-STAGES 3\n"
KEY_FILE = "snapshot.key"
SUFFIX = ".stages"
ALONE = ("disclosure",)  # stages also written on their own, for the commands that read only them
SIGNED = b"skywarden stage snapshot v1\n"  # what the site's key signs: this, then the JSON line
ED25519 = b"ed25519"  # the signature line of a snapshot signed with the site's key starts so
logger = logging.getLogger(__name__)


@cache
def code_fingerprint() -> str:
    """SHA-256 over the package's Python sources (names and bytes), in a fixed order."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def site_key_path() -> Path:
    """Where the site's snapshot key is kept (see the module doc)."""
    folder = os.environ.get("SKYWARDEN_CONFIG_DIR")
    if not folder:
        base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        folder = str(Path(base) / "skywarden")
    return Path(folder) / KEY_FILE


def site_key(create: bool = False) -> bytes | None:
    """The site's snapshot key; created (0600) when ``create`` and there is none. None when there
    is none, or when its file may be read or written by others than its owner."""
    path = site_key_path()
    if create and not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: read theirs
        except OSError:
            return None
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
    try:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            return None  # a key others can read (or replace) signs nothing
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    return key if len(key) >= 32 else None


def _mac(key: bytes, meta_line: bytes) -> bytes:
    return hmac.new(key, meta_line, hashlib.sha256).hexdigest().encode()


def site_public_key(log: EventLog) -> Ed25519PublicKey | None:
    """The key a snapshot of ``log`` must be signed with: ``SKYWARDEN_PUBLIC_KEY`` when set (so
    that a reader need not read the private key), else the public half of the site's signing key
    when the log has one (``SKYWARDEN_KEY``); None when the site has neither (the user's HMAC
    key then, as before). ConfigError when one is configured but cannot be read."""
    public = os.environ.get(ENV_PUBLIC_KEY, "").strip()
    if public:
        return load_public(public)
    notary = getattr(log, "notary", None)
    return None if notary is None else load_private(notary.signing.key).public_key()


def _signature_line(log: EventLog, meta_line: bytes) -> bytes | None:
    """The second line of a snapshot: signed with the site's key where the log has one, else
    the user's HMAC; None when neither can sign (no snapshot is written then)."""
    notary = getattr(log, "notary", None)
    if notary is not None:
        try:
            key_id, sig = notary.sign_bytes(SIGNED + meta_line)
        except ConfigError:
            return None
        return b" ".join((ED25519, key_id.encode(), base64.b64encode(sig)))
    key = site_key(create=True)
    return None if key is None else _mac(key, meta_line)


def _refusal(log: EventLog, sig_line: bytes, meta_line: bytes) -> str | None:
    """Why the snapshot's signature is not good enough here: a sentence to warn with, "" to
    refuse silently (the HMAC of a site without a key, as before), None when it holds."""
    try:
        public = site_public_key(log)
    except ConfigError as exc:
        return f"the site's key cannot be read to check it ({exc})"
    if public is None:
        if sig_line.startswith(ED25519 + b" "):
            return f"it is signed with a site's key, and none is configured here ({ENV_PUBLIC_KEY} or SKYWARDEN_KEY)"
        key = site_key()
        return None if key is not None and hmac.compare_digest(sig_line, _mac(key, meta_line)) else ""
    site = key_id_of(public)
    parts = sig_line.split(b" ")
    if len(parts) != 3 or parts[0] != ED25519:
        return f"it is not signed with the site's key {site} (an older snapshot, or a forged one)"
    if parts[1] != site.encode():
        return f"it is signed with key {parts[1].decode(errors='replace')[:40]}, not the site's key {site}"
    try:
        public.verify(base64.b64decode(parts[2], validate=True), SIGNED + meta_line)
    except (InvalidSignature, ValueError):
        return f"its signature does not verify with the site's key {site}: it was altered or forged"
    return None


def snapshot_path(log: EventLog) -> Path | None:
    """Where the snapshot of ``log`` lives (beside a SQLite file), or None for other logs."""
    path = getattr(log, "path", None)
    url = str(getattr(log, "url", ""))
    if not isinstance(path, Path) or not url.startswith("sqlite:///"):
        return None
    return path.with_name(path.name + SUFFIX)


def _head(log: EventLog) -> tuple[int, str]:
    seq = log.last_seq()
    if seq == 0:
        return 0, ""
    rec = next(iter(log.read(after=seq - 1)), None)
    return seq, "" if rec is None else rec.hash.hex()


def save(log: EventLog, rt: Runtime) -> Path | None:
    """Write the snapshot of ``rt``'s stages at ``log``'s head (atomically); the path, or None
    where the log has no snapshot. Inputs queued for a next tick are not part of it: a night
    left with some is not snapshotted (the caller replays, which resubmits them)."""
    path = snapshot_path(log)
    if path is None or rt.last_tick is None or rt._pending_inputs or rt.opening:
        return None
    payload = pickle.dumps(
        {"stages": rt.stages, "carry": rt._carry, "held": rt._held, "last_tick": rt.last_tick},
        protocol=pickle.HIGHEST_PROTOCOL,
    )
    alone = [(s.name, pickle.dumps(s, protocol=pickle.HIGHEST_PROTOCOL)) for s in rt.stages if s.name in ALONE]
    seq, head = _head(log)
    meta = {
        "log_seq": seq,
        "log_hash": head,
        "code": code_fingerprint(),
        "stages": [s.name for s in rt.stages],
        "alone": [[name, len(data), hashlib.sha256(data).hexdigest()] for name, data in alone],
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }
    line = json.dumps(meta).encode()
    signature = _signature_line(log, line)
    if signature is None:
        return None  # no usable key: nothing is written that could not be trusted
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(MAGIC + signature + b"\n" + line + b"\n")
        for _, data in alone:
            fh.write(data)
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def _meta(fh: IO[bytes], path: Path, log: EventLog, stage_names: list[str]) -> dict[str, Any] | None:
    """The header of an open snapshot file if it is signed as it must be here and is of
    ``log``'s head, this code and these stages (the file then stands at its first section);
    None otherwise."""
    if fh.readline() != MAGIC:
        return None
    sig_line, line = fh.readline().rstrip(b"\n"), fh.readline().rstrip(b"\n")
    why = _refusal(log, sig_line, line)
    if why is not None:  # not signed as it must be: never parsed further, never unpickled
        if why:
            logger.warning("stage snapshot %s refused: %s; the stages are rebuilt from the log", path, why)
        return None
    meta = json.loads(line)
    seq, head = _head(log)
    if (
        not isinstance(meta, dict)
        or meta.get("log_seq") != seq
        or meta.get("log_hash") != head
        or meta.get("code") != code_fingerprint()
        or meta.get("stages") != stage_names
    ):
        return None
    return meta


def _section(log: EventLog, stage_names: list[str], name: str | None) -> bytes | None:
    """The bytes of the section ``name`` (None: the payload, all the stages together) if the
    snapshot is of ``log``'s head, this code and these stages, and its bytes are the ones the
    signed header names; None otherwise. Raises what reading a damaged file raises."""
    path = snapshot_path(log)
    if path is None or not path.is_file():
        return None
    with open(path, "rb") as fh:
        meta = _meta(fh, path, log, stage_names)
        if meta is None:
            return None
        offset, found = 0, None  # the sections follow the header: the alone ones, then the payload
        for section, size, digest in meta["alone"]:
            if section == name:
                found = (offset, int(size), digest)
            offset += int(size)
        if name is None:
            fh.seek(offset, os.SEEK_CUR)
            data, digest = fh.read(), meta.get("payload_sha256")
        elif found is None:
            return None
        else:
            fh.seek(found[0], os.SEEK_CUR)
            data, digest = fh.read(found[1]), found[2]
    return data if hashlib.sha256(data).hexdigest() == digest else None


_DAMAGED = (OSError, ValueError, TypeError, KeyError, EOFError, pickle.UnpicklingError, AttributeError, ImportError)


def restore(log: EventLog, stage_names: list[str]) -> Runtime | None:
    """A runtime on ``log`` holding the saved stages, if they are the state after ``log``'s head
    for these stages and this code; None otherwise (replay instead)."""
    try:
        payload = _section(log, stage_names, None)
        if payload is None:
            return None
        state = pickle.loads(payload)  # noqa: S301 - its signature checked above (module doc)
    except _DAMAGED:
        return None
    if not isinstance(state, dict) or not isinstance(state.get("last_tick"), datetime):
        return None
    from skywarden.runtime import Runtime

    rt = Runtime(log=log, stages=state["stages"])
    rt._carry, rt._held, rt.last_tick = state["carry"], state["held"], state["last_tick"]
    return rt


def restore_stage(log: EventLog, stage_names: list[str], name: str) -> Stage | None:
    """The stage ``name`` (one of ``ALONE``) as it was after ``log``'s head, read from its own
    section without loading the other stages, if the snapshot is of that head, this code and
    these stages; None otherwise (replay instead)."""
    try:
        data = _section(log, stage_names, name)
        if data is None:
            return None
        stage = pickle.loads(data)  # noqa: S301 - its signature checked above (module doc)
    except _DAMAGED:
        return None
    return stage if getattr(stage, "name", None) == name else None
