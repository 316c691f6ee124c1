"""A witness for signed checkpoints, over HTTP: ``skywarden log witness --file w.jsonl``.

Run it on a machine the log's operators do not control. ``POST /`` with one checkpoint (a JSON
line, as the writer's :class:`~skywarden.log.checkpoint.WitnessSender` sends it) appends it to
the file when it holds: signed by the site's key (when the witness was given one) and not
contradicting a checkpoint it already holds (same record, other head or root; a record count
that went down for a later time is kept, and verify reports the log against it). ``GET /``
returns every checkpoint held, as JSON lines, which ``log verify --witness URL`` reads.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from skywarden.errors import LogError
from skywarden.log.checkpoint import Checkpoint, read_witness

MAX_BODY = 4096  # a checkpoint is ~300 bytes


class WitnessFile:
    """The checkpoints a witness holds, in a JSON-lines file; ``accept`` says why it refuses."""

    def __init__(self, path: Path, public: Ed25519PublicKey | None = None) -> None:
        self.path, self.public = path, public
        self._lock = threading.Lock()
        held = read_witness(str(path)) if path.exists() else []
        self._by_seq = {cp.seq: cp for cp in held}

    def accept(self, cp: Checkpoint) -> str:
        """"" when kept, else why it was refused."""
        if self.public is not None and not cp.signed_by(self.public):
            return "not signed by this site's key"
        with self._lock:
            old = self._by_seq.get(cp.seq)
            if old is not None:
                if (old.head, old.root) != (cp.head, cp.root):
                    return f"contradicts the checkpoint held for record {cp.seq} (signed {old.time})"
                return ""  # the same checkpoint again (a retried delivery)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(cp.to_json() + "\n")
                f.flush()
            self._by_seq[cp.seq] = cp
        return ""


def serve_witness(store: WitnessFile, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server for ``store`` (not started: call ``serve_forever``)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            size = int(self.headers.get("Content-Length") or 0)
            if not 0 < size <= MAX_BODY:
                return self._answer(413, b"one checkpoint per request\n")
            try:
                cp = Checkpoint.from_json(self.rfile.read(size))
            except LogError as exc:
                return self._answer(400, f"{exc}\n".encode())
            why = store.accept(cp)
            return self._answer(409, f"{why}\n".encode()) if why else self._answer(204, b"")

        def do_GET(self) -> None:  # noqa: N802
            body = store.path.read_bytes() if store.path.exists() else b""
            self._answer(200, body, "application/jsonl")

        def _answer(self, status: int, body: bytes, kind: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the API's name
            pass

    return ThreadingHTTPServer((host, port), Handler)
