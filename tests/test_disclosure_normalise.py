"""The normal form every disclosure check reads: look-alikes, invisible characters, keys, numbers."""

from __future__ import annotations

import json
import time
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skywarden.disclosure.normalise import (
    TO_CYRILLIC,
    TO_DIGIT,
    TO_LATIN,
    key,
    normalise,
    phrase_key,
    read_numbers,
    tokens,
)


def norm(text: str) -> str:
    return normalise(text).text


@pytest.mark.parametrize(
    ("typed", "reads"),
    [
        ("Pantsir", "pantsir"),
        ("P\u0430ntsir", "pantsir"),  # Cyrillic а in a Latin word
        ("ПАНЦИРЬ", "панцирь"),
        ("Пaнцирь", "панцирь"),  # Latin a in a Cyrillic word
        ("ＰＡＮＴＳＩＲ", "pantsir"),  # full width
        ("𝐏𝐚𝐧𝐭𝐬𝐢𝐫", "pantsir"),  # mathematical bold
        ("Pan\u200btsir", "pantsir"),  # zero-width space
        ("Pan\u00adtsir", "pantsir"),  # soft hyphen
        ("Pan\u2060t\ufeffsir", "pantsir"),  # word joiner, BOM
        ("\u2067Pantsir\u2069", "pantsir"),  # bidi isolate
        ("\u202ePantsir\u202c", "pantsir\nristnap"),  # bidi override: as stored, then as drawn
        ("P\u0336a\u0336ntsir", "pantsir"),  # combining overlays
        ("S\u2011400", "s-400"),  # non-breaking hyphen
        ("S\u2014400", "s-400"),  # em dash
        ("S\u2212400", "s-400"),  # minus sign
        ("S\u00a0400", "s 400"),  # no-break space
        ("S\u3000400", "s 400"),  # ideographic space
        ("С-З00", "с-300"),  # Cyrillic Ze beside digits
        ("03\u223610\u223627", "03:10:27"),  # ratio signs
        ("55º45′04″", "55°45'04\""),  # masculine ordinal, primes
        ("Straße", "strasse"),  # full case folding
        ("İstanbul", "istanbul"),
        ("ﬁre", "fire"),  # ligature
        ("ВUK", "buk"),  # Cyrillic capital В in a Latin word
        ("ёлка", "елка"),
    ],
)
def test_look_alikes_and_invisible_characters_read_as_plain_text(typed: str, reads: str) -> None:
    assert norm(typed) == reads


def test_a_name_drawn_reversed_by_an_override_is_read_as_drawn_and_maps_back() -> None:
    typed = "03:10. \u202eristnaP\u202c destroyed"  # shows "03:10. Pantsir destroyed"
    n = normalise(typed)
    logical, drawn = n.text.split("\n")
    assert logical == "03:10. ristnap destroyed" and drawn == "pantsir"
    a = n.text.index("pantsir")
    s, e = n.span(a, a + 7)
    assert typed[s:e] == "ristnaP"
    assert normalise("\u202eab\ncd").text == "ab\ncd\nba"  # a line break ends the override


def test_spans_map_back_to_the_text_as_typed() -> None:
    typed = "Area: Пан\u200bцирь here"
    n = normalise(typed)
    a = n.text.index("панцирь")
    s, e = n.span(a, a + len("панцирь"))
    assert typed[s:e] == "Пан\u200bцирь"
    plain = normalise("plain ascii")
    assert plain.span(6, 11) == (6, 11) and plain.origin is None


@pytest.mark.parametrize(
    "variants",
    [
        ["Pantsir", "Pantsyr", "Панцирь", "PANTSIR"],
        ["Krasukha", "Красуха"],
        ["Sheremetyevo", "Шереметьево"],
        ["Zhukovsky", "Жуковский"],
    ],
)
def test_keys_join_transliterations(variants: list[str]) -> None:
    assert len({key(norm(v)) for v in variants}) == 1


def test_phrase_keys_ignore_separators() -> None:
    assert {phrase_key(t) for t in ("S-400", "S 400", "S400", "С-400", "s\u00ad400")} == {"s400"}


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("Twelve drones", [12]),
        ("twenty-one", [21]),
        ("one hundred and twelve", [112]),
        ("the thirty-first drone", [31]),
        ("the 31st, 32nd and 33rd", [31, 32, 33]),
        ("31-го и 32-й", [31, 32]),
        ("тридцать первого беспилотника", [31]),
        ("двенадцать БПЛА", [12]),
        ("двести двадцать два", [222]),
        ("две тысячи двадцать пять", [2025]),
        ("трое пострадавших", [3]),
        ("a dozen", [12]),
        ("no numbers here", []),
    ],
)
def test_numbers_in_digits_and_words_in_both_languages(text: str, values: list[int]) -> None:
    assert [n.value for n in read_numbers(normalise(text))] == values


def test_tokens_tell_words_digits_and_designations_apart() -> None:
    kinds = [(t.text, t.kind) for t in tokens(normalise("S400 fell 3 km away"))]
    assert kinds == [("s400", "mixed"), ("fell", "word"), ("3", "digits"), ("km", "word"), ("away", "word")]


def test_the_generated_table_is_latin_and_cyrillic_only() -> None:
    from importlib import resources

    meta = json.loads((resources.files("skywarden.disclosure") / "confusables.json").read_text("utf-8"))
    assert meta["source"] == "confusables.txt" and meta["version"]
    for src, dst in meta["to_latin"].items():
        assert dst.isascii() and dst.isalpha(), (src, dst)
        assert unicodedata.name(src).startswith(("CYRILLIC", "LATIN")), src
    # beside it: a few Cyrillic small letters and the Greek letters drawn like Latin ones
    for src, dst in TO_LATIN.items():
        assert dst.isascii() and dst.isalpha(), (src, dst)
        assert unicodedata.name(src).startswith(("CYRILLIC", "LATIN", "GREEK")), src
    for src, dst in TO_CYRILLIC.items():
        assert src.isascii() and unicodedata.name(dst).startswith("CYRILLIC")
    assert all(d.isdigit() for d in TO_DIGIT.values())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_normalises_and_every_character_maps_back(text: str) -> None:
    n = normalise(text)
    if n.origin is not None:
        assert len(n.origin) == len(n.text)
        assert all(0 <= o < len(text) for o in n.origin)
        assert list(n.origin) == sorted(n.origin)
    assert normalise(n.text).text == n.text or not n.text.isascii()


def test_normalising_is_linear_in_the_length() -> None:
    unit = "Пан\u200bцирь ＰＡＮＴＳＩＲ 55º45′04″ двенадцать "

    def cost(k: int) -> float:
        text = unit * k
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            n = normalise(text)
            read_numbers(n)
            best = min(best, time.perf_counter() - t0)
        return best

    small, large = cost(100), cost(800)
    assert large < 8 * small * 3  # 8x the text: well under 24x the time (no quadratic blow-up)
