"""Generate skywarden/disclosure/confusables.json from Unicode's confusables.txt (UTS #39).

The normaliser (skywarden/disclosure/normalise.py) needs only a small part of the file: the
Latin and Cyrillic letters that look alike, the letters that look like digits, and the
punctuation that looks like a colon, an apostrophe, a double quote or a degree sign. This script
keeps that part and writes it as JSON, with the version and date of the source file:

* ``to_latin``: a Cyrillic (or non-ASCII Latin) letter -> the ASCII letter with the same
  confusable prototype (``а`` -> ``a``, ``В`` -> ``B``, ``І`` -> ``I``); the case of the source is
  kept where an ASCII letter of that case exists;
* ``to_cyrillic``: an ASCII letter -> the basic Cyrillic letter (U+0410..U+045F) with the same
  prototype (``a`` -> ``а``, ``H`` -> ``Н``);
* ``to_digit``: a Latin or Cyrillic letter -> the ASCII digit with the same prototype
  (``З`` -> ``3``, ``О`` -> ``0``, ``I`` -> ``1``);
* ``punct``: a character whose prototype is ``:``, ``'``, ``''`` (read as ``"``), ``°`` or ``º``
  -> that ASCII (or degree) character.

The file itself is not shipped and nothing is downloaded at run time. Get confusables.txt
(https://www.unicode.org/Public/security/<version>/confusables.txt) and run, from the repository
root (deterministic; rewrites the table):

    python tools/make_confusables.py path/to/confusables.txt
"""

from __future__ import annotations

import argparse
import json
import re
import unicodedata
from collections import defaultdict
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "skywarden" / "disclosure" / "confusables.json"
_ROW = re.compile(r"^([0-9A-F]{4,6}) ;\t([0-9A-F ]+?) ;\tMA\b")
_ASCII_LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)] + [
    chr(c) for c in range(ord("a"), ord("z") + 1)
]
_DIGITS = [str(d) for d in range(10)]


def _script(c: str) -> str:
    name = unicodedata.name(c, "")
    if name.startswith("CYRILLIC"):
        return "cyrillic"
    if name.startswith("LATIN"):
        return "latin"
    return ""


def read(path: Path) -> tuple[dict[str, str], str, str]:
    """(source char -> prototype string, version, date) from a confusables.txt."""
    proto: dict[str, str] = {}
    version = date = ""
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if line.startswith("# Version:"):
            version = line.split(":", 1)[1].strip()
        elif line.startswith("# Date:"):
            date = line.split(":", 1)[1].strip()
        m = _ROW.match(line)
        if m:
            target = "".join(chr(int(x, 16)) for x in m.group(2).split())
            proto[chr(int(m.group(1), 16))] = target
    if not proto:
        raise SystemExit(f"{path}: no confusable rows found (is it UTS #39 confusables.txt?)")
    return proto, version, date


def build(proto: dict[str, str]) -> dict[str, dict[str, str]]:
    def p(c: str) -> str:
        return proto.get(c, c)

    by_proto: dict[str, list[str]] = defaultdict(list)
    for c in list(proto) + _ASCII_LETTERS + _DIGITS:
        by_proto[p(c)].append(c)

    def pick(candidates: list[str], like: str) -> str | None:
        if not candidates:
            return None
        same_case = [c for c in candidates if c.isupper() == like.isupper()]
        return sorted(same_case or candidates)[0]

    to_latin: dict[str, str] = {}
    to_cyrillic: dict[str, str] = {}
    to_digit: dict[str, str] = {}
    for c in sorted(set(proto)):
        if not c.isalpha() or _script(c) not in ("cyrillic", "latin") or c in _ASCII_LETTERS:
            continue
        latin = pick([x for x in by_proto[p(c)] if x in _ASCII_LETTERS], c)
        if latin is not None:
            to_latin[c] = latin
    for a in _ASCII_LETTERS:
        cyr = [x for x in by_proto[p(a)] if "\u0410" <= x <= "\u045f"]
        chosen = pick(cyr, a)
        if chosen is not None:
            to_cyrillic[a] = chosen
    for d in _DIGITS:
        for x in by_proto[p(d)]:
            if x.isalpha() and _script(x) in ("cyrillic", "latin"):
                to_digit[x] = d
    for c, target in proto.items():  # direct rows: "З" -> "3"
        if len(target) == 1 and target in _DIGITS and c.isalpha() and _script(c):
            to_digit[c] = target
    punct: dict[str, str] = {}
    wanted = {":": ":", "'": "'", "''": '"', "\u00b0": "\u00b0", "\u00ba": "\u00b0"}
    for c, target in proto.items():
        if target in wanted and not c.isalnum():
            punct[c] = wanted[target]
    return {
        "to_latin": dict(sorted(to_latin.items())),
        "to_cyrillic": dict(sorted(to_cyrillic.items())),
        "to_digit": dict(sorted(to_digit.items())),
        "punct": dict(sorted(punct.items())),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("confusables", type=Path, help="Unicode's confusables.txt")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    proto, version, date = read(args.confusables)
    table = {"source": "confusables.txt", "version": version, "date": date} | build(proto)
    text = json.dumps(table, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
    args.out.write_text(text, encoding="utf-8")
    sizes = ", ".join(f"{k} {len(v)}" for k, v in table.items() if isinstance(v, dict))
    print(f"wrote {args.out} (Unicode {version}: {sizes})")


if __name__ == "__main__":
    main()
