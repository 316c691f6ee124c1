"""Sessions, CSRF and the login rate limit of the live service.

A session token is ``user.expiry.nonce.mac``, signed with HMAC-SHA256 under a secret kept beside
the log (``serve-secret``, 0600), so that a restarted server still knows its clients' sessions
and they reconnect without a new login. The role is never read from the token: each request
looks the user up in the users file loaded at start, so a removed user is out at once. A logout
revokes the token until it would have expired.

The browser holds the token in an HttpOnly, SameSite=Strict cookie; each of its writes also
carries ``X-CSRF-Token``, an HMAC of the token that a page of another site cannot read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SESSION_COOKIE = "skywarden_session"
CSRF_HEADER = "X-CSRF-Token"


def load_secret(path: Path) -> bytes:
    """The signing secret at ``path``, created (0600) on first use."""
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


@dataclass(frozen=True, slots=True)
class Session:
    user: str
    token: str
    csrf: str
    expires: float


@dataclass
class Sessions:
    """Issues and checks signed session tokens."""

    secret: bytes
    ttl_s: float = 12 * 3600.0  # a night shift
    clock: Callable[[], float] = time.time
    _revoked: dict[str, float] = field(default_factory=dict)

    def _mac(self, msg: str) -> str:
        d = hmac.new(self.secret, msg.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(d).decode().rstrip("=")

    def csrf_of(self, token: str) -> str:
        return self._mac("csrf:" + token)[:32]

    def issue(self, user: str) -> Session:
        expires = int(self.clock() + self.ttl_s)
        body = f"{user}.{expires}.{secrets.token_urlsafe(9)}"
        token = f"{body}.{self._mac(body)}"
        return Session(user, token, self.csrf_of(token), float(expires))

    def check(self, token: str) -> Session | None:
        """The session a token stands for, or None (forged, expired or revoked)."""
        if len(token) > 512:
            return None
        body, _, mac = token.rpartition(".")
        parts = body.split(".")
        if len(parts) != 3 or not hmac.compare_digest(mac, self._mac(body)):
            return None
        user, expires_s, _nonce = parts
        try:
            expires = float(expires_s)
        except ValueError:
            return None
        now = self.clock()
        if expires < now or token in self._revoked:
            return None
        return Session(user, token, self.csrf_of(token), expires)

    def revoke(self, token: str) -> None:
        s = self.check(token)
        if s is not None:
            now = self.clock()
            self._revoked = {t: e for t, e in self._revoked.items() if e >= now}
            self._revoked[token] = s.expires


@dataclass
class LoginLimiter:
    """At most ``failures`` failed logins per ``window_s`` from one address and for one user;
    past that, logins are refused (429) until the window has moved on."""

    failures: int = 5
    window_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _fails: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        cutoff = self.clock() - self.window_s
        while q and q[0] < cutoff:
            q.popleft()
        return q

    def blocked(self, remote: str, user: str) -> float:
        """Seconds to wait before another try (0: go ahead)."""
        wait = 0.0
        for key in (f"ip:{remote}", f"user:{user}"):
            q = self._recent(key)
            if len(q) >= self.failures:
                wait = max(wait, q[0] + self.window_s - self.clock())
        if len(self._fails) > 10_000:  # forget idle keys; a flood of names cannot grow this forever
            self._fails = {k: q for k, q in self._fails.items() if q}
        return wait

    def failed(self, remote: str, user: str) -> None:
        now = self.clock()
        for key in (f"ip:{remote}", f"user:{user}"):
            self._recent(key).append(now)


__all__ = ["CSRF_HEADER", "SESSION_COOKIE", "LoginLimiter", "Session", "Sessions", "load_secret"]
