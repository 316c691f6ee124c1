"""Withheld terms found in any spelling: the policy's term list read in normal form.

A term ("S-400", "Pantsir", "Surveillance radar, north", a unit string of the log) is reduced to
the keys of its words run together (:func:`~skywarden.disclosure.normalise.phrase_key`:
"s400", "pancir"). A text is cut into normalised tokens, whose keys are joined with a separator;
a term matches where its key runs over whole tokens, separators allowed anywhere inside it. So
"S-400", "S 400", "S400", "С-400" (Cyrillic), "S\u00ad400" (soft hyphen) all match "S-400", and
"Pantsyr", "PANTSIR", "Pаntsir" (Cyrillic "а"), "Панцирь" all match "Pantsir".

A term of four or more letters also matches with an ending of up to three letters ("Pantsirs",
"Панцирем"); one ending in a vowel also with that vowel replaced ("Красухой"). Shorter terms
and terms with digits match only whole.

The search is one compiled regular expression over the joined keys: linear in the text's length
for a given set of terms.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping

from skywarden.disclosure.normalise import Normalised, Token, phrase_key

_SEP = "\x00"


class TermMatcher:
    """Find withheld terms (``term -> category``) in normalised tokens."""

    def __init__(self, terms: Mapping[str, str]) -> None:
        keyed: dict[str, str] = {}
        for term, cat in sorted(terms.items()):
            k = phrase_key(term)
            if len(k) >= 2:
                keyed.setdefault(k, cat)
        self.keys = sorted(keyed.items(), key=lambda kv: (-len(kv[0]), kv[0]))
        alts = [self._pattern(k) for k, _ in self.keys]
        self._rx = re.compile(f"(?<={_SEP})(?:{'|'.join(alts)})(?={_SEP})") if alts else None

    @staticmethod
    def _pattern(k: str) -> str:
        body = f"{_SEP}?".join(re.escape(c) for c in k)
        if len(k) < 4 or not k.isalpha():
            return body
        forms = [body + "[a-z]{0,3}"]
        if len(k) >= 5 and k[-1] in "aeiou":
            forms.append(f"{_SEP}?".join(re.escape(c) for c in k[:-1]) + "[a-z]{1,3}")
        return "|".join(forms)

    def category(self, found_key: str) -> str:
        for k, cat in self.keys:
            if found_key.startswith(k) or (len(k) >= 5 and found_key.startswith(k[:-1])):
                return cat
        return "term"

    def find(self, n: Normalised, toks: list[Token]) -> list[tuple[int, int, str]]:
        """(start, end, category) of every term in ``n``, as offsets of ``n.text``."""
        if self._rx is None or not toks:
            return []
        starts: list[int] = []
        parts: list[str] = [_SEP]
        pos = 1
        for t in toks:
            starts.append(pos)
            parts.append(t.key)
            parts.append(_SEP)
            pos += len(t.key) + 1
        joined = "".join(parts)
        out: list[tuple[int, int, str]] = []
        for m in self._rx.finditer(joined):
            i = bisect.bisect_right(starts, m.start()) - 1
            j = bisect.bisect_left(starts, m.end()) - 1
            cat = self.category(m.group(0).replace(_SEP, ""))
            out.append((toks[i].start, toks[j].end, cat))
        return out


__all__ = ["TermMatcher"]
