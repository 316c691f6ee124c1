"""The people who may use the live service: a users file of names, roles and argon2 hashes.

The file is TOML, one ``[[user]]`` table per person::

    [[user]]
    user = "duty-1"
    role = "approver"
    password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."

``skywarden users add NAME --role ROLE`` writes it. An exercise (``serve --exercise``) writes
``exercise-users.toml`` instead, with generated passwords in clear (``password = "..."``, file
mode 0600) for the trainees to read; the service hashes them when it loads the file. A file
readable by others is refused when it holds clear passwords.
"""

from __future__ import annotations

import os
import secrets
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from skywarden.errors import ConfigError

ROLES: tuple[str, ...] = ("viewer", "duty_officer", "dispatcher", "press_officer", "approver", "admin")

# the scenario's officer roles, as the service names them
SCENARIO_ROLE = {"publisher": "approver", "editor": "press_officer", "duty_officer": "duty_officer", "viewer": "viewer"}

_hasher = PasswordHasher()
# a hash to verify against for an unknown user, so that a wrong name costs what a wrong password does
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class User:
    user: str
    role: str
    password_hash: str
    name: str = ""


def _check_name(name: str) -> None:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "-_." for c in name):
        raise ConfigError(f"user name {name!r}: use 1-64 letters, digits, '-', '_' or '.'")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ConfigError(f"role {role!r}: use one of {', '.join(ROLES)}")


class UserStore:
    """Users by name; verifies passwords. Built once at start and passed to the service."""

    def __init__(self, users: list[User]) -> None:
        self.users: dict[str, User] = {}
        for u in users:
            _check_name(u.user)
            _check_role(u.role)
            if u.user in self.users:
                raise ConfigError(f"user {u.user!r} is listed twice")
            self.users[u.user] = u

    def __len__(self) -> int:
        return len(self.users)

    def get(self, user: str) -> User | None:
        return self.users.get(user)

    def verify(self, user: str, password: str) -> User | None:
        """The user when the password is theirs, else None (same cost for an unknown name)."""
        u = self.users.get(user)
        try:
            _hasher.verify(u.password_hash if u else _DUMMY, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return u

    @classmethod
    def load(cls, path: Path) -> UserStore:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"users file {path}: {exc.strerror or exc}") from exc
        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"users file {path}: {exc}") from exc
        rows = doc.get("user", [])
        if not isinstance(rows, list):
            raise ConfigError(f"users file {path}: 'user' must be an array of tables ([[user]])")
        users: list[User] = []
        clear = False
        for i, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                raise ConfigError(f"users file {path}: user {i} is not a table")
            unknown = sorted(set(row) - {"user", "role", "password", "password_hash", "name"})
            if unknown:
                raise ConfigError(f"users file {path}: user {i}: unknown key(s) {unknown}")
            name, role = str(row.get("user", "")), str(row.get("role", ""))
            if "password_hash" in row:
                pw_hash = str(row["password_hash"])
            elif "password" in row:
                clear = True
                pw_hash = _hasher.hash(str(row["password"]))
            else:
                raise ConfigError(f"users file {path}: user {name or i} has no password_hash")
            users.append(User(name, role, pw_hash, str(row.get("name", ""))))
        if clear and os.name == "posix" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"users file {path} holds passwords in clear and others may read it: chmod 600 it")
        try:
            return cls(users)
        except ConfigError as exc:
            raise ConfigError(f"users file {path}: {exc}") from exc


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read (created 0600, never briefly wider)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def add_user(path: Path, user: str, role: str, password: str, name: str = "") -> None:
    """Add (or replace) one user in a users file with an argon2 hash of the password."""
    _check_name(user)
    _check_role(role)
    if len(password) < 10:
        raise ConfigError("a password needs at least 10 characters")
    existing = UserStore.load(path).users if path.exists() else {}
    existing[user] = User(user, role, _hasher.hash(password), name)
    lines = ["# Skywarden users (skywarden users add NAME --role ROLE)\n"]
    for u in existing.values():
        lines.append("\n[[user]]\n")
        lines.append(f"user = {_toml_str(u.user)}\nrole = {_toml_str(u.role)}\n")
        if u.name:
            lines.append(f"name = {_toml_str(u.name)}\n")
        lines.append(f"password_hash = {_toml_str(u.password_hash)}\n")
    _write_private(path, "".join(lines))


def exercise_users(officers: list[tuple[str, str, str]], path: Path) -> list[tuple[str, str, str]]:
    """Generate a password for each of the scenario's officers ``(id, role, name)`` and one user
    per role (``viewer``, ``dispatcher``, ... named after the role); write them in clear to
    ``path`` (0600). Returns ``(user, role, password)`` in file order."""
    rows: list[tuple[str, str, str, str]] = []
    taken: set[str] = set()
    for oid, role, name in officers:
        rows.append((oid, SCENARIO_ROLE.get(role, role), secrets.token_urlsafe(12), name))
        taken.add(oid)
    for role in ROLES:
        if role not in taken:
            rows.append((role, role, secrets.token_urlsafe(12), ""))
    text = ["# Exercise users, generated for this night only. Keep this file private.\n"]
    for user, role, pw, name in rows:
        text.append(f"\n[[user]]\nuser = {_toml_str(user)}\nrole = {_toml_str(role)}\n")
        if name:
            text.append(f"name = {_toml_str(name)}\n")
        text.append(f"password = {_toml_str(pw)}\n")
    _write_private(path, "".join(text))
    return [(u, r, p) for u, r, p, _ in rows]


__all__ = ["ROLES", "SCENARIO_ROLE", "User", "UserStore", "add_user", "exercise_users"]
