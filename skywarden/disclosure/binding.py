"""Approvals bind to text: the canonical text of a statement and its SHA-256.

An officer approves a text, not a statement id: ``StatementApproved.text_sha256`` names the
SHA-256 of the exact text the officer read, and the stage refuses an approval that names any
other text than the statement's current one (an edit in between, or a stale screen). An edit
voids every approval given before it (:mod:`skywarden.disclosure.approval`), so what is
published is always the text its approvers named.

The canonical text is the English text, a line feed, and the Russian text, encoded as UTF-8,
exactly as drafted or edited (no normalisation: the bytes the officer saw are the bytes bound).
An approval without a hash (``""``, logs written before the field existed) binds to nothing and
is taken as before.
"""

from __future__ import annotations

import hashlib


def canonical_text(text_en: str, text_ru: str) -> bytes:
    """The bytes an approval binds: ``en + "\\n" + ru`` in UTF-8."""
    return f"{text_en}\n{text_ru}".encode()


def text_sha256(text_en: str, text_ru: str) -> str:
    """The SHA-256 (hex, lower case) of a statement's canonical text."""
    return hashlib.sha256(canonical_text(text_en, text_ru)).hexdigest()


__all__ = ["canonical_text", "text_sha256"]
