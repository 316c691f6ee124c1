"""Disclosure by allowlist: an edited statement says only what its facts allow.

A statement is drafted from facts (kills and their numbers, rounded times, districts, airports,
crews at work, recoveries, corrections), each at the policy's granularity; the stage keeps them
as :class:`Facts`. An officer's edit of the statement is read in normal form
(:mod:`skywarden.disclosure.normalise`) and every part of it must be explained:

* a **time** (``03:10``, ``3:10 am``, ``00h19m55s``, «0 ч 19 мин 55 с», ``02.10``) must be one
  of the facts' times; a time with seconds never is;
* a **coordinate** (degrees with or without symbols, ``554504N``, MGRS, a decimal finer than
  ``place.max_decimals``) never is;
* a **number** in digits or words, either language, cardinal or ordinal ("Twelve", "31st",
  «двенадцать», «31-го») must be one of the facts' numbers or one the vocabulary allows (112);
* a **place** of the scenario (district, zone, airport, any form or case) must be one of the
  facts' places; the city is always allowed;
* a **withheld term** (the policy's terms, sensor names and ids, the units and effectors the log
  has revealed) is never allowed, in any script, spelling or spacing ("Pantsyr", "S 400");
* a word that names a unit or a weapon kind (``[flag]`` of the vocabulary: "regiment",
  "SAM", «полк», «ЗРК»), or a letter-and-digit designation ("S400", "M2"), never is;
* an **airborne count** (a number in a sentence about drones in the air, approaching, «на
  подлёте») never is; the same sentence without a number is fine;
* every other **word** must be in the vocabulary the policy ships (``data/vocabulary.toml``).

What is not explained is returned as :class:`~skywarden.disclosure.policy.Violation` spans of the
text as typed, for the refusal to name. A text longer than ``edit.max_chars`` is refused at
once, before any reading. Each step is linear in the text's length (a constant amount of work
per character or token, bounded by the size of the policy and the scenario).
"""

from __future__ import annotations

import bisect
import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path

from skywarden.disclosure.normalise import (
    Normalised,
    Number,
    Token,
    key,
    normalise,
    read_numbers,
    tokens,
)
from skywarden.disclosure.policy import DisclosurePolicy, Place, Violation
from skywarden.disclosure.policy import ViolationKind as Kind
from skywarden.errors import ScenarioError

DEFAULT_VOCABULARY = "vocabulary.toml"
_Refuse = Callable[[Kind, str, int, int], None]
_Take = Callable[[int, int], None]
_STEM_SLACK = 5  # letters a stem may be followed by
_NAME_SLACK = 4  # letters a place-name word may gain or lose in another case (keeping 3)


def default_vocabulary_path() -> Path:
    return Path(str(resources.files("skywarden.disclosure") / "data" / DEFAULT_VOCABULARY))


# --------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class WordSet:
    """Words and stems, as keys: :meth:`has` is a handful of set look-ups per word."""

    words: frozenset[str] = frozenset()
    stems: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str, where: str) -> WordSet:
        words: set[str] = set()
        stems: set[str] = set()
        for entry in text.split():
            stem = entry.endswith("*")
            k = "".join(key(t.text) for t in tokens(normalise(entry.rstrip("*"))))
            if stem:
                # a final "i" may fold away before the ending's vowel ("расписани-е" reads
                # "raspisane"): the stem stops before it
                k = k[:-1] if k.endswith("i") and len(k) > 4 else k
                if len(k) < 4:
                    raise ScenarioError(where, entry, "a stem keeps at least four letters")
                stems.add(k)
            elif k:
                words.add(k)
                if "-" in entry:  # "north-east" is read as two words too
                    words.update(key(t.text) for t in tokens(normalise(entry)))
        return cls(frozenset(words), frozenset(stems))

    def has(self, k: str) -> bool:
        if k in self.words:
            return True
        if not self.stems:
            return False
        return any(k[:n] in self.stems for n in range(max(4, len(k) - _STEM_SLACK), len(k) + 1))


@dataclass(frozen=True)
class Vocabulary:
    """The ordinary words of public statements, the numbers any statement may give, and the words
    that name units and equipment (never allowed)."""

    words: WordSet
    numbers: frozenset[int]
    unit: WordSet
    equipment: WordSet
    source: str = ""

    @classmethod
    def load(cls, path: str | Path | None = None) -> Vocabulary:
        p = Path(path) if path is not None else default_vocabulary_path()
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise ScenarioError(str(p), "", f"cannot read the vocabulary: {type(exc).__name__}: {exc}") from exc
        where = str(p)
        text = " ".join(str(data.get(lang, {}).get("words", "")) for lang in ("en", "ru"))
        flags = data.get("flag", {})
        numbers = data.get("numbers", {}).get("allowed", [])
        if not all(isinstance(n, int) for n in numbers):
            raise ScenarioError(where, "numbers.allowed", "must be whole numbers")
        return cls(
            words=WordSet.parse(text, where),
            numbers=frozenset(numbers),
            unit=WordSet.parse(str(flags.get("unit", "")), where),
            equipment=WordSet.parse(str(flags.get("equipment", "")), where),
            source=where,
        )


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class Facts:
    """What one statement may say: numbers, local clock times (hour, minute), place ids of the
    gazetteer (``district:<id>``, ``airport:<id>``...), and further words (keys) of its places."""

    numbers: frozenset[int] = frozenset()
    times: frozenset[tuple[int, int]] = frozenset()
    places: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset()


def facts_of(
    policy: DisclosurePolicy,
    *,
    numbers: Iterable[int] = (),
    times: Iterable[datetime] = (),
    places: Iterable[Place] = (),
    airports: Iterable[str] = (),
) -> Facts:
    """The facts of a statement at the policy's granularity: times rounded as published, places
    as coarsened (a district's id; the numbers and words of a direction-and-distance band)."""
    nums = set(numbers)
    words: set[str] = set()
    ids = {f"airport:{a}" for a in airports}
    for p in places:
        if p.district is not None:
            ids.add(f"district:{p.district}")
        for text in (p.en, p.ru):
            n = normalise(text)
            for num in read_numbers(n):
                nums.add(num.value)
            words.update(t.key for t in tokens(n) if t.kind == "word")
    clock = set()
    for t in times:
        c = policy.coarsen_time(t)
        clock.add((c.hour, c.minute))
    return Facts(frozenset(nums), frozenset(clock), frozenset(ids), frozenset(words))


# --------------------------------------------------------------------------- the gazetteer


@dataclass(frozen=True)
class _Name:
    place: str  # the place id
    words: tuple[str, ...]  # keys of the name's words


def _name_words(text: str) -> tuple[str, ...]:
    return tuple(t.key for t in tokens(normalise(text)))


def _word_matches(token_key: str, name_key: str) -> bool:
    """A token is a form of a place name's word: the same, or the same stem in another case
    ("Центральный" / "Центральном", "Москва" / "Москву")."""
    if token_key == name_key:
        return True
    if len(name_key) < 4:
        return False
    cut = 3 if len(name_key) >= 7 else 2 if len(name_key) >= 5 else 1  # "южная" / "южной"
    stem = name_key[: len(name_key) - cut]
    return token_key.startswith(stem) and abs(len(token_key) - len(name_key)) <= _NAME_SLACK


def gazetteer(policy: DisclosurePolicy) -> list[_Name]:
    """The scenario's place names in both languages, longest first: districts, zones (a zone
    named after an airport is that airport), airports and the city."""
    spec = policy.scenario.spec
    names: list[_Name] = []
    airports = {a.id: (a.name, a.name_ru or a.name) for a in spec.airports}
    for aid, pair in airports.items():
        for text in pair:
            names.append(_Name(f"airport:{aid}", _name_words(text)))
    for z in spec.zones:
        zid = f"zone:{z.id}"
        zkeys = [_name_words(z.name), _name_words(z.name_ru or z.name)]
        for aid, pair in airports.items():
            if any(set(_name_words(a)) <= set(zk) for a in pair for zk in zkeys):
                zid = f"airport:{aid}"
        for words in zkeys:
            names.append(_Name(zid, words))
    for d in spec.districts:
        for text in (d.name, d.name_ru or d.name):
            names.append(_Name(f"district:{d.id}", _name_words(text)))
    city = spec.city
    for text in (city.name, city.name_ru or city.name):
        names.append(_Name("city", _name_words(text)))
    names = [n for n in names if n.words]
    names.sort(key=lambda n: (-len(n.words), -sum(map(len, n.words)), n.place))
    return names


# --------------------------------------------------------------------------- patterns

_H = r"(?:h|hrs?|hours?|ч|час\w{0,3})"
_M = r"(?:m|mins?|minutes?|мин\w{0,4})"
_S = r"(?:s|secs?|seconds?|с|сек\w{0,5})"
_NOT_W_BEFORE = r"(?<![^\W_])"
_NOT_W_AFTER = r"(?![^\W_])"
# a clock time with a colon, optional seconds
_TIME_COLON = re.compile(
    r"(?<![\d:])([01]?\d|2[0-3])\s?:\s?([0-5]\d)(?:\s?:\s?([0-5]\d)(?:[.,]\d+)?)?(?![\d:])"
)
# 3:10 am, 3 pm
_TIME_AMPM = re.compile(
    _NOT_W_BEFORE + r"(1[0-2]|0?\d)(?:\s?[:.]\s?([0-5]\d))?\s?([ap])\.?\s?m\b\.?"
)
# with units: 00h19m55s, 0 ч 19 мин 55 с, 19 min 55 s
_TIME_UNITS = re.compile(
    _NOT_W_BEFORE
    + rf"(?:(\d{{1,2}})\s?{_H}\.?\s?)?(\d{{1,2}})\s?{_M}\.?(?:\s?(\d{{1,2}})\s?{_S}\.?)?"
    + _NOT_W_AFTER
)
_SECONDS = re.compile(_NOT_W_BEFORE + r"(\d+)\s?(?:secs?|seconds?|сек\w{0,5})" + _NOT_W_AFTER)
# "02.10" as a Russian clock time (only when it is one of the facts' times)
_TIME_DOT = re.compile(r"(?<![\d.,])([01]\d|2[0-3])\.([0-5]\d)(?![\d.,])")
_HEMI = r"[nsewсюзв]"
_COORDS = (
    # degrees, with or without minutes and seconds: 55°45'04", 55° 45.1'
    re.compile(
        r"\d{1,3}(?:[.,]\d+)?\s?°(?:\s?\d{1,2}(?:[.,]\d+)?\s?'?)?(?:\s?\d{1,2}(?:[.,]\d+)?\s?\"?)?"
        r"(?:\s?" + _HEMI + _NOT_W_AFTER + r")?"
    ),
    # degrees minutes seconds without symbols: 55 45 04 N, 55-45-04N
    re.compile(
        _NOT_W_BEFORE + r"\d{1,3}[\s-]\d{1,2}[\s-]\d{1,2}(?:[.,]\d+)?\s?" + _HEMI + _NOT_W_AFTER
    ),
    # packed with a hemisphere: 554504N, N554504, 0373706.5E
    re.compile(_NOT_W_BEFORE + r"\d{4,7}(?:[.,]\d+)?\s?" + _HEMI + _NOT_W_AFTER),
    re.compile(_NOT_W_BEFORE + r"[nsew]\s?\d{4,7}(?:[.,]\d+)?" + _NOT_W_AFTER),
    # MGRS / UTM: 37U DB 12345 67890, 37UDB1234567890
    re.compile(
        _NOT_W_BEFORE
        + r"\d{1,2}[c-hj-np-x]\s?[a-hj-np-z]{2}\s?\d{1,5}(?:\s?\d{1,5})?"
        + _NOT_W_AFTER
    ),
)
_DECIMAL = re.compile(r"(?<![\d.,])\d*(?:[.,]\d+)+")
_DECIMAL_PART = re.compile(r"[.,](\d+)")
_SENTENCE = re.compile(r"[^.!?;\n]+")
_AIRBORNE = re.compile(
    r"\b(?:in the air|in the sky|airborne|inbound|approaching|on (?:the|their) way|en route"
    r"|heading (?:for|to|toward)|still flying|are flying|keep flying)\b"
    r"|в воздухе|в небе|на подлет|на подходе|приближа\w*|лет[яи]т\b|направля\w*",
)
_CONTRACTION = frozenset({"s", "t", "ll", "re", "ve", "d", "m"})
# the words before a telephone number: the vocabulary's numbers (112) are allowed only after one
_PHONE = WordSet.parse(
    "call calls dial phone phones telephone number hotline звонит* позвонит* звоните позвоните "
    "телефон* номер* лини* справк*",
    "<phone words>",
)


# --------------------------------------------------------------------------- the check


@dataclass
class Allowlist:
    """The allowlist check of one policy (its vocabulary, its scenario's places, its terms).

    ``max_chars``: the longest text checked; a longer one is refused before it is read.
    """

    policy: DisclosurePolicy
    vocabulary: Vocabulary = field(default_factory=Vocabulary.load)
    max_chars: int = 2000
    _names: dict[str, list[_Name]] | None = field(default=None, repr=False)
    _terms: tuple[int, list[tuple[str, str]]] | None = field(default=None, repr=False)

    @classmethod
    def for_policy(cls, policy: DisclosurePolicy) -> Allowlist:
        """The allowlist the policy's ``[edit]`` table names (its vocabulary beside the policy
        file; for rules given in code, as given), or the shipped one."""
        edit = policy.rules.edit
        path: Path | None = None
        if edit.vocabulary:
            from_file = bool(policy.source) and not policy.source.startswith("<")
            path = (
                Path(policy.source).parent / edit.vocabulary if from_file else Path(edit.vocabulary)
            )
        return cls(policy, Vocabulary.load(path), edit.max_chars)

    def names(self, token_key: str) -> list[_Name]:
        """The place names that may start at a token, longest first (indexed by the first three
        letters of their first word, which every form of that word keeps)."""
        if self._names is None:
            index: dict[str, list[_Name]] = {}
            for name in gazetteer(self.policy):
                index.setdefault(name.words[0][:3], []).append(name)
            self._names = index
        return self._names.get(token_key[:3], [])

    def check(self, text: str, facts: Facts) -> list[Violation]:
        """Every part of ``text`` its facts do not explain (empty: the text may be published),
        as spans of ``text``, in text order."""
        if len(text) > self.max_chars:
            return [
                Violation(
                    "length",
                    f"longer than {self.max_chars} characters",
                    self.max_chars,
                    len(text),
                    "",
                )
            ]
        n = normalise(text)
        found: list[tuple[Kind, str, int, int]] = []  # kind, category, start, end (normalised)
        taken = bytearray(len(n.text) + 1)  # characters explained or refused already

        def take(a: int, b: int) -> None:
            taken[a:b] = b"\x01" * (b - a)

        def refuse(kind: Kind, category: str, a: int, b: int) -> None:
            found.append((kind, category, a, b))
            take(a, b)

        toks = tokens(n)
        for a, b, cat in self.policy.find_terms(n, toks):
            refuse("term", cat, a, b)
        self._times(n, facts, refuse, take)
        for rx in _COORDS:
            for m in rx.finditer(n.text):
                if not any(taken[m.start() : m.end()]):
                    refuse("coordinate", "position", m.start(), m.end())
        maxd = self.policy.rules.place.max_decimals
        for m in _DECIMAL.finditer(n.text):
            if any(taken[m.start() : m.end()]):
                continue
            parts = _DECIMAL_PART.findall(m.group(0))
            if any(len(g) > maxd for g in parts) or len(parts) > 1:
                refuse("coordinate", "decimal", m.start(), m.end())
            else:
                try:
                    value = float(m.group(0).replace(",", "."))
                except ValueError:  # pragma: no cover - the pattern is a number
                    value = float("nan")
                if value not in facts.numbers:
                    refuse("number", "not in the facts", m.start(), m.end())
                else:
                    take(m.start(), m.end())
        numbers = read_numbers(n, toks)
        self._airborne(n, numbers, taken, refuse)
        starts = [t.start for t in toks]
        for num in numbers:
            if any(taken[num.start : num.end]):
                continue
            i = bisect.bisect_left(starts, num.start)
            phone = (
                num.value in self.vocabulary.numbers
                and not num.words
                and any(_PHONE.has(t.key) for t in toks[max(0, i - 3) : i])
            )
            if num.value in facts.numbers or phone:
                take(num.start, num.end)
            else:
                refuse("number", "not in the facts", num.start, num.end)
        self._places(toks, facts, taken, refuse)
        for i, t in enumerate(toks):
            if any(taken[t.start : t.end]):
                continue
            if t.kind == "mixed":
                refuse("equipment", "designation", t.start, t.end)
            elif t.kind == "digits":
                continue  # read as a number above
            elif self.vocabulary.unit.has(t.key):
                refuse("unit", "unit-like word", t.start, t.end)
            elif self.vocabulary.equipment.has(t.key):
                refuse("equipment", "equipment-like word", t.start, t.end)
            elif (
                self.vocabulary.words.has(t.key)
                or t.key in facts.words
                or t.text in _CONTRACTION
                and i > 0
                and n.text[t.start - 1 : t.start] == "'"
            ):
                continue
            else:
                refuse("word", "not in the vocabulary", t.start, t.end)
        out = []
        for kind, cat, a, b in found:
            s, e = n.span(a, b)
            out.append(Violation(kind, cat, s, e, text[s:e]))
        out.sort(key=lambda v: (v.start, v.end))
        return out

    # ---------------------------------------------------------------- parts

    def _times(self, n: Normalised, facts: Facts, refuse: _Refuse, take: _Take) -> None:
        for a, b, h, mi, sec in find_times(n.text, facts.times):
            if sec:
                refuse("time", "seconds", a, b)
            elif (h, mi) in facts.times:
                take(a, b)
            else:
                refuse("time", "not in the facts", a, b)

    def _airborne(
        self, n: Normalised, numbers: Sequence[Number], taken: bytearray, refuse: _Refuse
    ) -> None:
        if not self.policy.rules.withhold.airborne_count:
            return
        for s in _SENTENCE.finditer(n.text):
            if not _AIRBORNE.search(s.group(0)):
                continue
            a, b = s.start(), s.end()
            nums = [x for x in numbers if a <= x.start < b and not any(taken[x.start : x.end])]
            if nums:
                refuse("airborne", "count", a, b)

    def _places(self, toks: list[Token], facts: Facts, taken: bytearray, refuse: _Refuse) -> None:
        for a, b, place in self.find_places(toks, taken):
            if place == "city" or place in facts.places:
                taken[a:b] = b"\x01" * (b - a)
            else:
                refuse("place", place.split(":", 1)[0], a, b)

    def find_places(
        self, toks: list[Token], taken: bytearray | None = None
    ) -> Iterable[tuple[int, int, str]]:
        """(start, end, place id) of every place name among the tokens, longest names first."""
        i = 0
        while i < len(toks):
            if toks[i].kind != "word" or (taken and any(taken[toks[i].start : toks[i].end])):
                i += 1
                continue
            hit = None
            for name in self.names(toks[i].key):
                k = len(name.words)
                if i + k <= len(toks) and all(
                    _word_matches(toks[i + j].key, name.words[j]) for j in range(k)
                ):
                    hit = name
                    break
            if hit is None:
                i += 1
                continue
            yield toks[i].start, toks[i + len(hit.words) - 1].end, hit.place
            i += len(hit.words)

    def said(self, text: str) -> Facts:
        """The facts a text states: its numbers (outside clock times), its clock times (with
        seconds or not) and its places (the city aside). Two languages of one statement must
        state the same."""
        n = normalise(text[: self.max_chars])
        toks = tokens(n)
        times = list(find_times(n.text, None))
        in_time = bytearray(len(n.text) + 1)
        for a, b, *_ in times:
            in_time[a:b] = b"\x01" * (b - a)
        numbers = {x.value for x in read_numbers(n, toks) if not any(in_time[x.start : x.end])}
        places = {p for _, _, p in self.find_places(toks) if p != "city"}
        return Facts(
            numbers=frozenset(numbers),
            times=frozenset((h, mi) for _, _, h, mi, _ in times),
            places=frozenset(places),
        )


def find_times(
    text: str, known: frozenset[tuple[int, int]] | None
) -> Iterable[tuple[int, int, int, int, bool]]:
    """(start, end, hour, minute, with seconds) of every clock time in a normalised text:
    03:10, 03:10:27, 3:10 am, 00h19m55s, 0 ч 19 мин 55 с, a number of seconds alone (hour and
    minute -1), and "02.10" when it is one of the ``known`` times (``None``: any)."""
    spans: list[tuple[int, int]] = []

    def fresh(a: int, b: int) -> bool:
        if any(a < e and s < b for s, e in spans):
            return False
        spans.append((a, b))
        return True

    for m in _TIME_UNITS.finditer(text):
        if m.group(1) is None and m.group(3) is None:
            continue  # "19 min" alone is a duration, read as a number
        if fresh(m.start(), m.end()):
            h = int(m.group(1) or 0) % 24
            yield m.start(), m.end(), h, int(m.group(2)), m.group(3) is not None
    for m in _TIME_COLON.finditer(text):
        if fresh(m.start(), m.end()):
            yield m.start(), m.end(), int(m.group(1)), int(m.group(2)), m.group(3) is not None
    for m in _TIME_AMPM.finditer(text):
        if fresh(m.start(), m.end()):
            h = int(m.group(1)) % 12 + (12 if m.group(3) == "p" else 0)
            yield m.start(), m.end(), h, int(m.group(2) or 0), False
    for m in _SECONDS.finditer(text):
        if fresh(m.start(), m.end()):
            yield m.start(), m.end(), -1, -1, True
    for m in _TIME_DOT.finditer(text):
        hm = (int(m.group(1)), int(m.group(2)))
        if (known is None or hm in known) and fresh(m.start(), m.end()):
            yield m.start(), m.end(), hm[0], hm[1], False


def explain(violations: Sequence[Violation], lang: str) -> str:
    """The spans of a refusal, named by offset and kind, never by their text (a refusal is read
    by more people than the statement's editor): "en[12:18] number(not in the facts)"."""
    return "; ".join(f"{lang}[{v.start}:{v.end}] {v.kind}({v.category})" for v in violations)


__all__ = [
    "Allowlist",
    "Facts",
    "Vocabulary",
    "WordSet",
    "default_vocabulary_path",
    "explain",
    "facts_of",
    "find_times",
    "gazetteer",
]
