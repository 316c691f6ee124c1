"""Withheld terms found in any spelling: the policy's term list read in normal form.

A term ("S-400", "Pantsir", "Surveillance radar, north", a unit string of the log) is reduced to
the keys of its words run together (:func:`~skywarden.disclosure.normalise.phrase_key`:
"s400", "pancir"). A text is cut into normalised tokens, whose keys are joined with a separator;
a term matches where its key runs over whole tokens, separators allowed anywhere inside it. So
"S-400", "S 400", "S400", "С-400" (Cyrillic), "S\u00ad400" (soft hyphen) all match "S-400", and
"Pantsyr", "PANTSIR", "Pаntsir" (Cyrillic "а"), "Панцирь" all match "Pantsir".

A word made only of letters drawn like the other script's is also read in that script
("Kpacyxa", all Latin, draws Красуха), so a term cannot hide behind look-alikes of all its
letters; a right-to-left override that draws a reversed name is undone by the normal form.

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

from skywarden.disclosure.normalise import TO_CYRILLIC, TO_LATIN, Normalised, Token, key, phrase_key

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
        """(start, end, category) of every term in ``n``, as offsets of ``n.text``.

        The words are read twice: as written, and with every word made only of letters that
        look like letters of the other script read in that script ("Kpacyxa", Latin letters
        drawn like Красуха's, is read as Красуха)."""
        if self._rx is None or not toks:
            return []
        out = self._find(toks, [t.key for t in toks])
        other = [other_reading(t) for t in toks]
        if any(k != t.key for k, t in zip(other, toks, strict=True)):
            seen = {(a, b) for a, b, _ in out}
            out += [f for f in self._find(toks, other) if (f[0], f[1]) not in seen]
            out.sort()
        return out

    def _find(self, toks: list[Token], keys: list[str]) -> list[tuple[int, int, str]]:
        starts: list[int] = []
        parts: list[str] = [_SEP]
        pos = 1
        for k in keys:
            starts.append(pos)
            parts.append(k)
            parts.append(_SEP)
            pos += len(k) + 1
        joined = "".join(parts)
        assert self._rx is not None
        out: list[tuple[int, int, str]] = []
        for m in self._rx.finditer(joined):
            i = bisect.bisect_right(starts, m.start()) - 1
            j = bisect.bisect_left(starts, m.end()) - 1
            cat = self.category(m.group(0).replace(_SEP, ""))
            out.append((toks[i].start, toks[j].end, cat))
        return out


def other_reading(t: Token) -> str:
    """The key of a word read in the other script, where every letter of it has a look-alike
    there (Latin "kpacyxa" -> Cyrillic "красуха" -> "krasuha"); else its own key."""
    if t.kind != "word":
        return t.key
    w = t.text
    if w.isascii():
        if all(c in TO_CYRILLIC for c in w):
            return key("".join(TO_CYRILLIC[c] for c in w))
    elif all(c in TO_LATIN for c in w):
        return key("".join(TO_LATIN[c] for c in w).lower())
    return t.key


__all__ = ["TermMatcher"]
