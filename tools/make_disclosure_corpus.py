"""Compose the adversarial edits of tests/data/disclosure_edits_composed.toml.

The hand-written table (tests/data/disclosure_edits.toml) holds one edit per way of leaking that
people found; this one crosses each withheld fact with the disguises an officer (or an intruder at
the officer's keyboard) can type: other scripts and look-alike letters, invisible and format
characters, other dashes, full-width and mathematical letters, transliteration, other coordinate
and clock formats, counts in words, and the other language's sentence around it. Every edit is of
the same kill statement as the hand-written table (the 31st drone, 03:10:27, Central district).

Deterministic: run ``python tools/make_disclosure_corpus.py`` and commit the file it writes.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "disclosure_edits_composed.toml"

# the carrier sentences: {x} is the leaking phrase
EN = "03:10. {x} destroyed the 31st drone."
RU = "03:10. {x} уничтожил 31-й беспилотник."
EN_AT = "03:10. The 31st drone fell at {x}."
RU_AT = "03:10. 31-й беспилотник упал: {x}."
EN_TIME = "{x}. The 31st drone has been destroyed."
RU_TIME = "{x} отражена атака 31-го беспилотника."

_LATIN_TO_CYRILLIC = str.maketrans("aceopxyABCEHKMOPTXy", "асеорхуАВСЕНКМОРТХу")
_CYRILLIC_TO_LATIN = str.maketrans("асеорхуАВСЕНКМОРТХ", "aceopxyABCEHKMOPTX")


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def _bold(s: str) -> str:
    out = []
    for c in s:
        if "A" <= c <= "Z":
            out.append(chr(0x1D400 + ord(c) - ord("A")))
        elif "a" <= c <= "z":
            out.append(chr(0x1D41A + ord(c) - ord("a")))
        elif "0" <= c <= "9":
            out.append(chr(0x1D7CE + ord(c) - ord("0")))
        else:
            out.append(c)
    return "".join(out)


def _inside(mark: str) -> Callable[[str], str]:
    """The mark after every second character (inside the word, never at its ends)."""
    return lambda s: "".join(c + (mark if 0 < i < len(s) - 1 and i % 2 else "") for i, c in enumerate(s))


def _homoglyphs(s: str) -> str:
    """Latin letters into their Cyrillic look-alikes, or the other way round."""
    if any("а" <= c.lower() <= "я" for c in s):
        return s.translate(_CYRILLIC_TO_LATIN)
    return s.translate(_LATIN_TO_CYRILLIC)


def _one_homoglyph(s: str) -> str:
    """Only the first letter that has a look-alike in the other script changed."""
    for i, c in enumerate(s):
        for table in (_LATIN_TO_CYRILLIC, _CYRILLIC_TO_LATIN):
            d = c.translate(table)
            if d != c:
                return s[:i] + d + s[i + 1 :]
    return s


# the disguises of a term: name -> function of the term as the policy spells it
DISGUISES: dict[str, Callable[[str], str]] = {
    "as written": lambda s: s,
    "lower case": str.lower,
    "upper case": str.upper,
    "no hyphen": lambda s: s.replace("-", ""),
    "a space for the hyphen": lambda s: s.replace("-", " "),
    "an en dash for the hyphen": lambda s: s.replace("-", "\u2013"),
    "a non-breaking hyphen": lambda s: s.replace("-", "\u2011"),
    "zero-width spaces inside": _inside("\u200b"),
    "soft hyphens inside": _inside("\u00ad"),
    "word joiners inside": _inside("\u2060"),
    "zero-width joiners inside": _inside("\u200d"),
    "full-width letters": _fullwidth,
    "mathematical bold": _bold,
    "every look-alike letter in the other script": _homoglyphs,
    "one look-alike letter in the other script": _one_homoglyph,
    "combining acute accents": lambda s: "".join(c + ("\u0301" if c.isalpha() else "") for c in s),
}

TERMS = ["S-300", "S-400", "S-500", "Pantsir", "Tor-M2", "Buk-M3", "Krasukha",
         "С-300", "С-400", "С-500", "Панцирь", "Тор-М2", "Бук-М3", "Красуха"]  # fmt: skip
# spellings the policy file does not list, read back to its terms by transliteration
TRANSLITERATED = ["Pantsyr", "Panzir", "Pancir", "Krasuha", "Krassukha", "Tor M2", "Buk M3", "Panciri"]

COORDINATES = [
    ("decimal degrees, four places", "55.7512, 37.6184"),
    ("decimal degrees, two places", "55.75 37.62"),
    ("decimal degrees with hemispheres after", "55.7512N 37.6184E"),
    ("decimal degrees with hemispheres before", "N55.7512 E37.6184"),
    ("decimal commas", "55,7512 37,6184"),
    ("degrees and decimal minutes", "55°45.07' N 37°37.10' E"),
    ("DMS with typographic primes", "55°45′04″N 37°37′06″E"),
    ("DMS with a ring above for the degree", "55˚45'04\" 37˚37'06\""),
    ("DMS with curly quotes", "55°45’04” 37°37’06”"),
    ("DMS in words", "55 deg 45 min 04 sec N"),
    ("DMS with spaces only", "55 45 04 37 37 06"),
    ("packed DMS", "554504N0373706E"),
    ("MGRS with spaces", "37U DB 12345 67890"),
    ("MGRS packed", "37UDB1234567890"),
    ("UTM", "37U 412345 6178901"),
    ("full-width decimal degrees", "５５.７５１２ ３７.６１８４"),
    ("mathematical digits", "𝟓𝟓.𝟕𝟓𝟏𝟐 𝟑𝟕.𝟔𝟏𝟖𝟒"),
    ("latitude and longitude named", "lat 55.751 lon 37.618"),
]  # fmt: skip

TIMES = [
    ("seconds with colons", "03:10:27"),
    ("seconds with dots", "03.10.27"),
    ("h m s", "3h10m27s"),
    ("h min s with spaces", "03 h 10 min 27 s"),
    ("ISO 8601 with seconds", "T03:10:27"),
    ("UTC with seconds", "00:10:27Z"),
    ("ratio signs", "03∶10∶27"),
    ("full-width digits and colons", "０３：１０：２７"),
    ("off the grid", "03:12"),
    ("off the grid with a dot", "03.12"),
    ("off the grid, 12-hour", "3:12 am"),
    ("off the grid, military", "0312 hours"),
    ("seconds in words", "3 hours 10 minutes 27 seconds"),
]  # fmt: skip
RU_TIMES = [
    ("seconds in Russian units", "в 3 ч 10 мин 27 с"),
    ("seconds in Russian words", "в 3 часа 10 минут 27 секунд"),
    ("off the grid in Russian", "в 03:12"),
]

AIRBORNE_EN = [
    "{n} drones are still in the air.",
    "{n} drones are approaching the city.",
    "{n} more drones are inbound.",
    "Another {n} drones are heading for the capital.",
    "{n} drones are still flying toward Moscow.",
    "03:10. The 31st drone has been destroyed; {n} remain airborne.",
]
AIRBORNE_RU = [
    "В воздухе ещё {n} беспилотников.",
    "К городу приближаются {n} БПЛА.",
    "На подлёте {n} беспилотников.",
    "Ещё {n} дронов летят на Москву.",
]
COUNTS_EN = ["5", "12", "five", "twelve", "Twelve", "5\u200b"]
COUNTS_RU = ["5", "12", "пять", "двенадцать"]

UNITS_EN = [
    "AD regiment 2", "the 2nd regiment", "battery 3", "the 3rd battery", "a battalion of air defence",
    "the 1st brigade", "an air-defence division", "a SAM crew", "the AD regt 2", "a short range SAM",
]  # fmt: skip
UNITS_RU = [
    "2-й зенитный ракетный полк", "полк ПВО", "3-я батарея", "дивизион ПВО", "бригада ПВО",
    "зенитный расчёт", "ЗРК", "мобильная огневая группа",
]  # fmt: skip

SENSORS = [
    ("en", "the surveillance radar, north", EN),
    ("en", "radar-north", EN),
    ("en", "radar-south-west", EN),
    ("en", "the RF detector, centre", EN),
    ("en", "rf-centre", EN),
    ("en", "the Remote ID receiver, centre", EN),
    ("en", "the ADS-B receiver", EN),
    ("ru", "radar-east", RU),
    ("ru", "rid-centre", RU),
]

NUMBERS_EN = [
    "03:10. The 32nd drone has been destroyed.",
    "03:10. The thirty-second drone has been destroyed.",
    "03:10. Forty drones have been destroyed tonight.",
    "03:10. 57 drones have been destroyed since midnight.",
    "03:10. The 31st of 45 drones has been destroyed.",
    "03:10. The 31st drone has been destroyed, 3 km from the centre.",
    "03:10. The 31st drone has been destroyed at 150 m altitude.",
    "03:10. The 31st drone has been destroyed; 2 more were jammed.",
]
NUMBERS_RU = [
    "03:10. Уничтожен 32-й беспилотник.",
    "03:10. Уничтожен тридцать второй беспилотник.",
    "03:10. За ночь уничтожено сорок беспилотников.",
    "03:10. Уничтожен 31-й беспилотник, в 3 км от центра.",
    "03:10. Уничтожен 31-й беспилотник на высоте 150 м.",
]

PLACES_EN = [
    "Northern district", "North-Eastern district", "Eastern district", "South-Eastern district",
    "Southern district", "South-Western district", "Western district", "North-Western district",
    "Sheremetyevo", "Domodedovo airport", "Vnukovo", "Zhukovsky airport", "the Southern power plant",
    "the refinery", "the Government quarter",
]  # fmt: skip
PLACES_RU = [
    "в Северном округе", "в Юго-Западном округе", "в Западном округе", "у Шереметьево",
    "у аэропорта Домодедово", "у Внукова", "у южной ТЭЦ", "у нефтеперерабатывающего завода",
    "у правительственного квартала",
]  # fmt: skip


def cases() -> Iterator[dict[str, object]]:
    for term in TERMS:
        ru = any("а" <= c.lower() <= "я" for c in term)
        for name, disguise in DISGUISES.items():
            text = disguise(term)
            if name != "as written" and text == term:
                continue  # a disguise that changes nothing here (no hyphen to replace)
            for lang, carrier in (("en", EN), ("ru", RU)):
                if (lang == "ru") != ru and name not in ("as written", "every look-alike letter in the other script"):
                    continue  # the other script's term in a sentence: as written and disguised as ours
                yield {"what": f"{term}, {name}, in the {lang} text", "lang": lang, "kind": "term",
                       "also": ["equipment", "word"], "text": carrier.format(x=text)}  # fmt: skip
    for spelling in TRANSLITERATED:
        yield {"what": f"transliterated as {spelling}", "lang": "en", "kind": "term", "also": ["word", "equipment"],
               "text": EN.format(x=spelling)}  # fmt: skip
    for name, coordinate in COORDINATES:
        for lang, carrier in (("en", EN_AT), ("ru", RU_AT)):
            yield {"what": f"coordinates: {name}, in the {lang} text", "lang": lang, "kind": "coordinate",
                   "also": ["number", "equipment"], "text": carrier.format(x=coordinate)}  # fmt: skip
    for name, clock in TIMES:
        for lang, carrier in (("en", EN_TIME), ("ru", RU_TIME)):
            yield {"what": f"time: {name}, in the {lang} text", "lang": lang, "kind": "time",
                   "also": ["number", "coordinate"], "text": carrier.format(x=clock)}  # fmt: skip
    for name, clock in RU_TIMES:
        yield {"what": f"time: {name}", "lang": "ru", "kind": "time", "also": ["number"],
               "text": RU_TIME.format(x=clock.capitalize())}  # fmt: skip
    for i, sentence in enumerate(AIRBORNE_EN):
        for n in COUNTS_EN:
            text = sentence.format(n=n)
            yield {"what": f"airborne count {n!r}, sentence {i + 1}", "lang": "en", "kind": "airborne",
                   "also": ["number"], "text": text[0].upper() + text[1:]}  # fmt: skip
    for i, sentence in enumerate(AIRBORNE_RU):
        for n in COUNTS_RU:
            yield {"what": f"airborne count {n!r}, Russian sentence {i + 1}", "lang": "ru", "kind": "airborne",
                   "also": ["number"], "text": sentence.format(n=n)}  # fmt: skip
    for unit in UNITS_EN:
        yield {"what": f"unit: {unit}", "lang": "en", "kind": "unit", "also": ["equipment", "number", "word"],
               "text": f"03:10. The 31st drone was destroyed by {unit}."}  # fmt: skip
    for unit in UNITS_RU:
        yield {"what": f"unit in Russian: {unit}", "lang": "ru", "kind": "unit", "also": ["equipment", "number"],
               "text": f"03:10. 31-й беспилотник уничтожил {unit}."}  # fmt: skip
    for lang, sensor, carrier in SENSORS:
        yield {"what": f"sensor: {sensor}, in the {lang} text", "lang": lang, "kind": "term", "also": ["word"],
               "text": carrier.format(x=sensor[0].upper() + sensor[1:])}  # fmt: skip
    for text in NUMBERS_EN:
        yield {"what": f"number: {text[7:40]}", "lang": "en", "kind": "number", "also": [], "text": text}
    for text in NUMBERS_RU:
        yield {"what": f"number in Russian: {text[7:40]}", "lang": "ru", "kind": "number", "also": [], "text": text}
    for place in PLACES_EN:
        yield {"what": f"place: {place}", "lang": "en", "kind": "place", "also": [],
               "text": f"03:10. The 31st drone fell near {place}."}  # fmt: skip
    for place in PLACES_RU:
        yield {"what": f"place in Russian: {place}", "lang": "ru", "kind": "place", "also": [],
               "text": f"03:10. 31-й беспилотник упал {place}."}  # fmt: skip


def _toml(value: object) -> str:
    """A TOML value; the invisible characters (controls, format characters, spaces other than
    the space, combining marks) escaped so that the file shows them."""
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if not isinstance(value, str):
        return json.dumps(value)
    out = []
    for c in value:
        if c in '"\\':
            out.append("\\" + c)
        elif c != " " and (unicodedata.category(c)[0] in "CZ" or unicodedata.category(c) == "Mn"):
            out.append(f"\\u{ord(c):04X}")  # all of them in the first plane here
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def main() -> None:
    out = [
        "# Composed by tools/make_disclosure_corpus.py (do not edit by hand: change the tool and rerun it).",
        "# Each [[bypass]] must be refused with at least one span; its `kind`, or one of `also`, named.",
        "",
    ]
    seen: set[str] = set()
    for case in cases():
        key = f"{case['lang']}\0{case['text']}"
        if key in seen:
            continue
        seen.add(key)
        out.append("[[bypass]]")
        out += [f"{k} = {_toml(v)}" for k, v in case.items()]
        out.append("")
    OUT.write_text("\n".join(out), encoding="utf-8")
    print(f"{OUT}: {len(seen)} edits")


if __name__ == "__main__":
    main()
