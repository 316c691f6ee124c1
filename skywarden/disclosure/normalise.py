"""The one normal form every disclosure check reads, and the words and numbers in it.

A withheld fact can be typed in many ways that look the same to a reader: full-width letters, a
Cyrillic "а" inside a Latin word, a zero-width space or a soft hyphen inside a name, an en dash
for a hyphen, a ratio sign for a colon, "Pantsyr" for "Pantsir", "twelve" for "12". Every check
of :mod:`skywarden.disclosure.allowlist` and the withheld terms of
:class:`~skywarden.disclosure.policy.DisclosurePolicy` read the text in this module's form.

:func:`normalise` maps a text, character by character, to its comparison form:

1. format and control characters are removed (zero-width spaces and joiners, soft hyphens, bidi
   marks and isolates, the byte-order mark; tab, CR, VT and FF become a space or a line break);
   a run that a right-to-left override draws reversed is read both ways: as stored, and as
   drawn, appended after the text (``"\u202eristnaP\u202c"`` shows, and is read as, "Pantsir");
2. punctuation that Unicode's confusables (UTS #39) take for ``:``, ``'``, ``"`` or ``°`` becomes
   that character (``∶`` ratio, ``′`` prime, ``º`` masculine ordinal...); every dash and hyphen
   (category Pd, minus signs) becomes ``-``; every space (Zs, and the invisible fillers) ``" "``;
3. compatibility decomposition (NFKD, which identifies everything NFKC does) with the combining
   marks removed: full-width and mathematical letters and digits, ligatures, "é" -> "e",
   "й" -> "и", "ё" -> "е";
4. inside one word, letters of the other script that look alike are read in the word's script
   (TR39 skeleton, restricted to Latin and Cyrillic, from the generated table
   ``confusables.json``): "Pаntsir" with a Cyrillic "а" is "pantsir"; a Cyrillic "З" or "О"
   next to digits is a digit ("С-З00");
5. full case folding (``str.casefold``: "ß" -> "ss", "İ" -> "i").

Each character of the result remembers the character of the input it came from
(:meth:`Normalised.span`), so a check names the span of the text as the officer typed it.
Everything is one pass over the text with constant work per character (cached per distinct
character), so the cost is linear in the text's length.

Words are compared by :func:`key`: Cyrillic transliterated to Latin and a few spelling
variants folded ("ts"/"c", "y"/"i", "kh"/"h", doubled letters), so "Pantsir", "Pantsyr" and
"Панцирь" have one key. :func:`tokens` cuts the form into words and digit runs;
:func:`read_numbers` reads numbers in digits, with ordinal endings ("31st", "31-го") and in
words, English and Russian ("twelve", "thirty-first", "двенадцать", "тридцать первого").
"""

from __future__ import annotations

import bisect
import json
import re
import unicodedata
from array import array
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

# --------------------------------------------------------------------------- the tables


def _load_table() -> dict[str, dict[str, str]]:
    raw = (resources.files("skywarden.disclosure") / "confusables.json").read_text("utf-8")
    data = json.loads(raw)
    return {k: v for k, v in data.items() if isinstance(v, dict)}


_T = _load_table()
# a few Cyrillic lower-case letters that pass for Latin ones in running text though UTS #39
# gives them no ASCII prototype (their capitals have one: К, М, Т, Н, В)
_LOOK_LATIN = {"к": "k", "м": "m", "т": "t", "п": "n", "и": "u", "н": "h", "в": "b"}
# Greek letters drawn like Latin ones (their UTS #39 prototypes are the Latin letters): a Greek
# "Ρ" in "Ρantsir" is read as "P"
_GREEK_LATIN = {
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "α": "a", "ι": "i", "κ": "k", "ν": "v",
    "ο": "o", "ρ": "p", "υ": "u", "χ": "x",
}  # fmt: skip
_TR39_LAT: dict[str, str] = _T["to_latin"]
_TR39_CYR: dict[str, str] = _T["to_cyrillic"]
TO_LATIN: dict[str, str] = _T["to_latin"] | _LOOK_LATIN | _GREEK_LATIN
TO_CYRILLIC: dict[str, str] = _T["to_cyrillic"] | {v: k for k, v in _LOOK_LATIN.items()}
TO_DIGIT: dict[str, str] = _T["to_digit"]
PUNCT: dict[str, str] = _T["punct"] | {"\u00ba": "°", "\u02da": "°", "\u2070": "°"}
# characters that draw nothing but are letters or symbols, not format characters
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
_MINUS = frozenset("\u2212\u2796\u02d7\u2043\ufe63\uff0d\u207b\u208b")
_LINE = frozenset("\n\r\v\f\x85\u2028\u2029")


@lru_cache(maxsize=8192)
def fold_char(c: str) -> str:
    """One input character in the comparison form before script and case (see the module doc):
    "" (dropped), itself, or its decomposition without marks."""
    if c in _LINE:
        return "\n"
    if c == "\t":
        return " "
    p = PUNCT.get(c)
    if p is not None:
        return p
    if c in _BLANK:
        return " "
    if c in _MINUS:
        return "-"
    cat = unicodedata.category(c)
    if cat[0] == "C":  # Cc control, Cf format (zero-width, soft hyphen, bidi), Cs, Co, Cn
        return ""
    if cat[0] == "M":  # combining marks: accents, variation selectors, strike-through overlays
        return ""
    if cat[0] == "Z":
        return " "
    if cat == "Pd":
        return "-"
    d = unicodedata.normalize("NFKD", c)
    if d == c:
        return c
    return "".join(fold_char(x) for x in d)


@lru_cache(maxsize=8192)
def _fold_case(c: str) -> str:
    f = c.casefold()
    if f == c:
        return c
    return "".join(x for x in unicodedata.normalize("NFKD", f) if not unicodedata.combining(x))


def _is_cyrillic(c: str) -> bool:
    return "\u0400" <= c <= "\u052f"


def _is_latin(c: str) -> bool:
    return c.isascii() and c.isalpha()


# --------------------------------------------------------------------------- normalising


@dataclass(frozen=True, slots=True)
class Normalised:
    """A text in comparison form. ``origin[i]`` is the index in ``source`` of the character that
    gave ``text[i]`` (``None``: the identity, for plain ASCII)."""

    source: str
    text: str
    origin: array[int] | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of ``source`` that gave ``text[start:end]``."""
        if self.origin is None:
            return start, end
        if end <= start:
            at = self.origin[start] if start < len(self.origin) else len(self.source)
            return at, at
        a, b = self.origin[start], self.origin[end - 1]
        if a > b:  # a run drawn right to left (an override): its characters came in reverse
            part = self.origin[start:end]
            return min(part), max(part) + 1
        return a, b + 1


_WORD_RE = re.compile(r"[^\W_]+")
_ASCII_CTRL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_ASCII_DIGITISH = re.compile(r"(?<=\d)[IOl](?=\d)")


class _FoldTable(dict[int, str]):
    """``str.translate`` table of :func:`fold_char`, filled as characters are met; the
    characters that do not fold to exactly one character are noted in ``resizing``."""

    resizing: set[str] = set()
    limit = 65536  # distinct characters kept; beyond, each is folded again when met

    def __missing__(self, code: int) -> str:
        c = chr(code)
        f = fold_char(c)
        if len(f) != 1:
            self.resizing.add(c)
        if len(self) < self.limit:
            self[code] = f
        return f


_FOLD = _FoldTable()


def normalise(text: str) -> Normalised:
    """``text`` in comparison form (see the module doc). Linear in ``len(text)``."""
    if text.isascii() and not _ASCII_CTRL.search(text):
        return Normalised(text, _ASCII_DIGITISH.sub(lambda m: TO_DIGIT[m.group(0)], text).lower())
    folded = text.translate(_FOLD)
    origin: array[int] | None = None
    if len(folded) == len(text) and _FOLD.resizing.isdisjoint(text) and not _OVERRIDES.search(text):
        chars = list(folded)  # one character for one: the identity maps back
    else:
        chars = []
        origin = array("l")
        for i, c in enumerate(text):
            for x in _FOLD[ord(c)]:
                chars.append(x)
                origin.append(i)
        _display_order(text, chars, origin)
    _resolve_scripts(chars)
    joined = "".join(chars)
    cased = joined.casefold()
    if len(cased) == len(joined):  # casefold never shortens: one for one again
        return Normalised(text, cased, origin)
    out: list[str] = []
    final = array("l")
    for i, x in enumerate(chars):
        f = _fold_case(x)
        out.append(f)
        final.extend([origin[i] if origin is not None else i] * len(f))
    return Normalised(text, "".join(out), final)


# a right-to-left override (U+202E) draws what follows reversed, up to its pop (U+202C), a
# left-to-right override (U+202D) or the end of the line: "\u202eristnaP\u202c" shows "Pantsir".
# A channel that drops the controls shows the logical order instead, so both are read: the
# reversed runs are appended after the text, each after a line break, with their origins.
_OVERRIDES = re.compile("[\u202d\u202e]")


def _display_order(text: str, chars: list[str], origin: array[int]) -> None:
    """Append, in place, each run that an override draws right to left, as it is drawn."""
    if not _OVERRIDES.search(text):
        return
    runs: list[tuple[int, int]] = []  # [a, b) of the source drawn reversed
    start: int | None = None
    for i, c in enumerate(text):
        if c == "\u202e" and start is None:
            start = i
        elif start is not None and c in "\u202c\u202d\n\u2029":
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(text)))
    for a, b in runs:
        lo, hi = bisect.bisect_left(origin, a), bisect.bisect_left(origin, b)
        if hi <= lo:
            continue
        chars.append("\n")
        origin.append(a)
        chars.extend(reversed(chars[lo:hi]))
        origin.extend(reversed(origin[lo:hi]))


# a word that needs its script resolved: letters of two scripts, a digit beside a letter, or a
# letter of another script that looks Latin
_NEEDS_RESOLVING = re.compile(
    r"(?=.*[a-zA-Z])(?=.*[\u0400-\u052f])|\d[^\W\d_]|[^\W\d_]\d|[^\x00-\x7f\u0400-\u052f]"
)


def _resolve_scripts(chars: list[str]) -> None:
    """Read look-alike letters of the other script in each word's own script (in place)."""
    joined = "".join(chars)
    for m in _WORD_RE.finditer(joined):
        word = m.group(0)
        if not _NEEDS_RESOLVING.search(word):
            continue
        a, b = m.start(), m.end()
        # non-ASCII Latin look-alikes ("ɑ", "ı") first, so they count as Latin
        for i in range(a, b):
            c = chars[i]
            if not c.isascii() and not _is_cyrillic(c) and c in TO_LATIN:
                chars[i] = TO_LATIN[c]
        n_lat = sum(1 for i in range(a, b) if _is_latin(chars[i]))
        n_cyr = sum(1 for i in range(a, b) if _is_cyrillic(chars[i]))
        # the word's script: the one with more letters that have no look-alike in the other
        # (UTS #39), then the one with more letters ("раntѕіr" is Latin: n and t decide)
        only_lat = sum(1 for i in range(a, b) if _is_latin(chars[i]) and chars[i] not in _TR39_CYR)
        only_cyr = sum(1 for i in range(a, b) if _is_cyrillic(chars[i]) and chars[i] not in _TR39_LAT)
        latin_word = (only_lat, n_lat) >= (only_cyr, n_cyr)
        # a look-alike of a digit beside a digit: "С-З00" (Cyrillic Ze), "4O0" (Latin O)
        for i in range(a, b):
            d = TO_DIGIT.get(chars[i])
            if d is None:
                continue
            left = i > a and chars[i - 1].isdigit()
            right = i + 1 < b and chars[i + 1].isdigit()
            if (left and right) or (not chars[i].isascii() and (left or right)):
                chars[i] = d
        if n_lat and n_cyr:
            if latin_word:
                for i in range(a, b):
                    chars[i] = (
                        TO_LATIN.get(chars[i], chars[i]) if _is_cyrillic(chars[i]) else chars[i]
                    )
            else:
                for i in range(a, b):
                    if _is_latin(chars[i]):
                        chars[i] = TO_CYRILLIC.get(chars[i], chars[i])


# --------------------------------------------------------------------------- keys

_TRANSLIT = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
        "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
        "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
        "я": "ya", "і": "i", "ї": "i", "є": "e", "ј": "j", "ѕ": "s", "ґ": "g", "ў": "u",
    }
)  # fmt: skip
_SPELLING = (
    (re.compile(r"shch|sch"), "sh"),
    (re.compile(r"kh"), "h"),
    (re.compile(r"t[sz]|(?<=n)z"), "c"),  # ц as ts, tz, and z after n (German: "Panzir")
    (re.compile(r"ck|q"), "k"),
    (re.compile(r"ph"), "f"),
    (re.compile(r"x"), "ks"),
    (re.compile(r"w"), "v"),
    (re.compile(r"[yj]"), "i"),
    (re.compile(r"(?<=[^aeiou])i(?=[aeou])"), ""),  # "Sheremetyevo" / "Шереметьево"
    (re.compile(r"([a-z])\1+"), r"\1"),
)


@lru_cache(maxsize=65536)
def key(word: str) -> str:
    """A word (already normalised) as compared: Latin letters, spelling variants folded.

    >>> key("pantsyr") == key("панцирь") == key("pantsir")
    True
    """
    k = word.translate(_TRANSLIT)
    for rx, rep in _SPELLING:
        k = rx.sub(rep, k)
    return k


def phrase_key(text: str) -> str:
    """A phrase (any form) as the letters and digits of its words' keys, nothing between:
    "S-400", "S 400", "С-400" -> "s400"."""
    n = normalise(text)
    return "".join(key(m.group(0)) for m in _WORD_RE.finditer(n.text))


# --------------------------------------------------------------------------- tokens

TokenKind = Literal["word", "digits", "mixed"]


@dataclass(frozen=True, slots=True)
class Token:
    """A run of letters and digits of the normalised text: ``start``/``end`` index it."""

    text: str
    key: str
    start: int
    end: int
    kind: TokenKind


def tokens(n: Normalised) -> list[Token]:
    """The words, digit runs and mixed runs ("s400", "31st") of a normalised text, in order."""
    out: list[Token] = []
    for m in _WORD_RE.finditer(n.text):
        w = m.group(0)
        if w.isdigit():
            kind: TokenKind = "digits"
            k = w
        elif any(c.isdigit() for c in w):
            kind, k = "mixed", key(w)
        else:
            kind, k = "word", key(w)
        out.append(Token(w, k, m.start(), m.end(), kind))
    return out


# --------------------------------------------------------------------------- numbers


@dataclass(frozen=True, slots=True)
class Number:
    """A number read in a normalised text: ``value``, its span there, and how it was written."""

    value: int
    start: int
    end: int
    words: bool  # written in words ("twelve"), not digits
    ordinal: bool


_EN_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]  # fmt: skip
_EN_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_EN_ORD_UNITS = ["zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth"]  # fmt: skip
_EN_ORD_TENS = [
    "twentieth",
    "thirtieth",
    "fortieth",
    "fiftieth",
    "sixtieth",
    "seventieth",
    "eightieth",
    "ninetieth",
]

# Russian cardinals: value -> forms (all cases); ordinals: value -> stem, adjective endings
_RU_CARD: dict[int, str] = {
    0: "ноль нуль ноля нуля нулю нолю нолём нулём нолем нулем ноле нуле",
    1: "один одного одному одним одном одна одной одну одною одно одни одних одними",
    2: "два две двух двум двумя двое двоих двоим",
    3: "три трёх трех трём трем тремя трое троих троим",
    4: "четыре четырёх четырех четырём четырем четырьмя четверо четверых",
    5: "пять пяти пятью пятеро пятерых",
    6: "шесть шести шестью шестеро шестерых",
    7: "семь семи семью семеро семерых",
    8: "восемь восьми восемью восьмью",
    9: "девять девяти девятью",
    10: "десять десяти десятью",
    11: "одиннадцать одиннадцати одиннадцатью",
    12: "двенадцать двенадцати двенадцатью дюжина дюжины дюжину",
    13: "тринадцать тринадцати тринадцатью",
    14: "четырнадцать четырнадцати четырнадцатью",
    15: "пятнадцать пятнадцати пятнадцатью",
    16: "шестнадцать шестнадцати шестнадцатью",
    17: "семнадцать семнадцати семнадцатью",
    18: "восемнадцать восемнадцати восемнадцатью",
    19: "девятнадцать девятнадцати девятнадцатью",
    20: "двадцать двадцати двадцатью",
    30: "тридцать тридцати тридцатью",
    40: "сорок сорока",
    50: "пятьдесят пятидесяти пятьюдесятью",
    60: "шестьдесят шестидесяти шестьюдесятью",
    70: "семьдесят семидесяти семьюдесятью",
    80: "восемьдесят восьмидесяти восемьюдесятью",
    90: "девяносто девяноста",
    100: "сто ста",
    200: "двести двухсот двумстам двумястами двухстах",
    300: "триста трёхсот трехсот тремстам",
    400: "четыреста четырёхсот четырехсот",
    500: "пятьсот пятисот",
}
_RU_ORD_STEMS: dict[int, str] = {
    1: "перв", 2: "втор", 4: "четвёрт", 5: "пят", 6: "шест", 7: "седьм", 8: "восьм",
    9: "девят", 10: "десят", 11: "одиннадцат", 12: "двенадцат", 13: "тринадцат",
    14: "четырнадцат", 15: "пятнадцат", 16: "шестнадцат", 17: "семнадцат", 18: "восемнадцат",
    19: "девятнадцат", 20: "двадцат", 30: "тридцат", 40: "сороков", 50: "пятидесят",
    60: "шестидесят", 70: "семидесят", 80: "восьмидесят", 90: "девяност", 100: "сот",
}  # fmt: skip
_RU_ADJ = ["ый", "ой", "ий", "ого", "ому", "ым", "ом", "ая", "ую", "ое", "ые", "ых", "ыми", "ей"]
_RU_THIRD = [
    "третий",
    "третьего",
    "третьему",
    "третьим",
    "третьем",
    "третья",
    "третьей",
    "третью",
    "третье",
    "третьи",
    "третьих",
    "третьими",
]


@dataclass(frozen=True, slots=True)
class _NumWord:
    value: int
    ordinal: bool
    mult: bool = False  # multiplies what stands before it: "two hundred", "две тысячи"


def _number_words() -> dict[str, _NumWord]:
    table: dict[str, _NumWord] = {}

    def add(word: str, value: int, ordinal: bool, mult: bool = False) -> None:
        table.setdefault(key(normalise(word).text), _NumWord(value, ordinal, mult))

    for v, w in enumerate(_EN_UNITS):
        add(w, v, False)
    for v, w in enumerate(_EN_ORD_UNITS):
        add(w, v, True)
    for i, w in enumerate(_EN_TENS):
        add(w, 20 + 10 * i, False)
    for i, w in enumerate(_EN_ORD_TENS):
        add(w, 20 + 10 * i, True)
    for w, v in (("hundred", 100), ("thousand", 1000)):
        add(w, v, False, mult=True)
    for w, v in (("hundredth", 100), ("thousandth", 1000)):
        add(w, v, True, mult=True)
    add("dozen", 12, False)
    for w in [
        "сотня",
        "сотни",
        "сотню",
        "сотен",
        "тысяча",
        "тысячи",
        "тысяч",
        "тысячу",
        "тысячей",
        "тысячам",
    ]:
        add(w, 1000 if w.startswith("тыс") else 100, False, mult=True)
    for v, forms in _RU_CARD.items():
        for w in forms.split():
            add(w, v, False)
    for v, stem in _RU_ORD_STEMS.items():
        for ending in _RU_ADJ:
            add(stem + ending, v, True)
    for w in _RU_THIRD:
        add(w, 3, True)
    return table


NUMBER_WORDS: dict[str, _NumWord] = _number_words()
_EN_ORD_SUFFIX = re.compile(r"(\d+)(st|nd|rd|th)")
# (in normal form: "й" reads "и")
_RU_ORD_SUFFIX = frozenset(
    normalise(s).text
    for s in [
        "го",
        "й",
        "я",
        "е",
        "м",
        "ми",
        "х",
        "му",
        "ю",
        "ой",
        "ый",
        "ий",
        "ая",
        "ое",
        "ые",
        "ых",
        "ым",
        "ом",
        "ого",
        "ому",
        "ую",
        "ыми",
        "ей",
    ]
)
_JOINERS = frozenset({"and", "и"})


def read_numbers(n: Normalised, toks: list[Token] | None = None) -> list[Number]:
    """Every number in a normalised text: digit runs (with an ordinal ending: "31st", "31-го",
    "31-й"), and numbers in words, English and Russian, cardinal and ordinal, compounds included
    ("thirty-one", "one hundred and twelve", "тридцать первого", "сто двенадцать")."""
    toks = tokens(n) if toks is None else toks
    out: list[Number] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.kind == "digits":
            end, ordinal = t.end, False
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if (
                nxt is not None
                and nxt.kind == "word"
                and nxt.text in _RU_ORD_SUFFIX
                and n.text[t.end : nxt.start] == "-"
            ):
                end, ordinal = nxt.end, True
                i += 1
            out.append(Number(int(t.text), t.start, end, words=False, ordinal=ordinal))
            i += 1
            continue
        if t.kind == "mixed":
            m = _EN_ORD_SUFFIX.fullmatch(t.text)
            if m:
                out.append(Number(int(m.group(1)), t.start, t.end, words=False, ordinal=True))
            i += 1
            continue
        w = NUMBER_WORDS.get(t.key)
        if w is None:
            i += 1
            continue
        # a compound: tens + unit, hundreds, thousands ("one hundred and twelve")
        total, current, start, end = 0, 0, t.start, t.end
        ordinal, last_kind = False, ""
        j = i
        while j < len(toks):
            tj = toks[j]
            wj = NUMBER_WORDS.get(tj.key)
            if wj is None:
                if (
                    tj.text in _JOINERS
                    and last_kind == "big"
                    and j + 1 < len(toks)
                    and toks[j + 1].key in NUMBER_WORDS
                ):
                    j += 1
                    continue
                break
            v = wj.value
            gap = n.text[toks[j - 1].end : tj.start] if j > i else ""
            if j > i and gap.strip(" -") != "":
                break
            if wj.mult:
                kind = "big"
                current = max(current, 1) * v
                if v == 1000:
                    total, current = total + current, 0
            elif v >= 100:  # "сто", "двести"...: a hundreds word of its own
                if last_kind not in ("", "big"):
                    break
                kind = "hundreds"
                current += v
            elif v >= 20 and v % 10 == 0:
                if last_kind in ("ten", "unit"):
                    break
                kind = "ten"
                current += v
            else:
                if last_kind == "unit" or (last_kind == "ten" and v >= 10):
                    break
                kind = "unit"
                current += v
            last_kind = kind
            ordinal = wj.ordinal
            end = tj.end
            j += 1
            if ordinal:
                break
        out.append(Number(total + current, start, end, words=True, ordinal=ordinal))
        i = max(j, i + 1)
    return out


__all__ = [
    "NUMBER_WORDS",
    "Normalised",
    "Number",
    "Token",
    "fold_char",
    "key",
    "normalise",
    "phrase_key",
    "read_numbers",
    "tokens",
]
