"""Statement templates, English and Russian, drafted from facts of the log.

Each template is a function of facts (already gathered by the stage) and the policy, which
coarsens every place and time it prints; templates never see a unit, an effector or a sensor.
Templates are picked by topic from :data:`TEMPLATES`.

Russian grammar that the statements need, kept small and tested:

* ordinals in the genitive ("31-го") and nominative ("31-й") masculine, as written in digits;
* the noun after a numeral: 1, 21, 31... -> "беспилотник"; 2-4, 22-24... -> "беспилотника";
  0, 5-20, 25-30... -> "беспилотников" (and the genitive forms after "обломки");
* the verb and participle agree with the numeral ("уничтожен 21 беспилотник, летевший" /
  "уничтожены 3 беспилотника, летевших").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from skywarden.disclosure.policy import DisclosurePolicy

# --------------------------------------------------------------------------- numbers and words

_EN_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
# masculine nominative / genitive, 0..10
_RU_NOM = ("ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять", "десять")  # fmt: skip
_RU_GEN = ("ноля", "одного", "двух", "трёх", "четырёх", "пяти", "шести", "семи", "восьми", "девяти", "десяти")  # fmt: skip


def ordinal_en(n: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th", 23 -> "23rd"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def ordinal_ru_gen(n: int) -> str:
    """Masculine genitive ordinal in digits: "31-го" (тридцать первого)."""
    return f"{n}-го"


def ordinal_ru_nom(n: int) -> str:
    """Masculine nominative (and inanimate accusative) ordinal: "31-й" (тридцать первый)."""
    return f"{n}-й"


def plural_ru(n: int, one: str, few: str, many: str) -> str:
    """The Russian noun form after the cardinal ``n``: one (1, 21), few (2-4, 22-24), many."""
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def count_en(n: int) -> str:
    """A count as English writes it in running text: words to ten, digits above."""
    return _EN_WORDS[n] if 0 <= n <= 10 else str(n)


def count_ru(n: int, genitive: bool = False) -> str:
    """A masculine count in words to ten, digits above (nominative or genitive)."""
    words = _RU_GEN if genitive else _RU_NOM
    return words[n] if 0 <= n <= 10 else str(n)


def drones_ru(n: int) -> str:
    """ "беспилотник" after the cardinal ``n`` in the nominative."""
    return plural_ru(n, "беспилотник", "беспилотника", "беспилотников")


def drones_ru_gen(n: int) -> str:
    """ "беспилотник" after the cardinal ``n`` in the genitive (обломки трёх беспилотников)."""
    return plural_ru(n, "беспилотника", "беспилотников", "беспилотников")


def _runs(numbers: Sequence[int]) -> bool:
    return all(b == a + 1 for a, b in zip(numbers, numbers[1:], strict=False))


def numbers_en(numbers: Sequence[int]) -> str:
    """ "the 29th to the 31st" for a run, "the 29th, 30th and 32nd" otherwise."""
    ns = sorted(numbers)
    if len(ns) == 1:
        return f"the {ordinal_en(ns[0])}"
    if len(ns) > 2 and _runs(ns):
        return f"the {ordinal_en(ns[0])} to the {ordinal_en(ns[-1])}"
    return "the " + ", ".join(ordinal_en(n) for n in ns[:-1]) + f" and {ordinal_en(ns[-1])}"


def numbers_ru(numbers: Sequence[int], genitive: bool = False) -> str:
    """ "с 29-го по 31-й" for a run, "29-й, 30-й и 32-й" otherwise ("29-го, 30-го и 32-го"
    in the genitive, after "обломки двух беспилотников")."""
    ns = sorted(numbers)
    form = ordinal_ru_gen if genitive else ordinal_ru_nom
    if len(ns) == 1:
        return form(ns[0])
    if len(ns) > 2 and _runs(ns):
        return f"с {ordinal_ru_gen(ns[0])} по {ordinal_ru_nom(ns[-1])}"
    return ", ".join(form(n) for n in ns[:-1]) + f" и {form(ns[-1])}"


def accusative_ru(name: str) -> str:
    """A city name in the accusative after "на": Москва -> Москву, Калуга -> Калугу."""
    if name.endswith("а"):
        return name[:-1] + "у"
    if name.endswith("я"):
        return name[:-1] + "ю"
    return name


def join_en(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def join_ru(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " и " + items[-1]


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True, slots=True)
class KillFact:
    """A numbered kill as the stage knows it (from ``KillNumbered``); positions WGS84 degrees."""

    report_id: str
    number: int
    t: datetime
    lat: float
    lon: float
    incident_id: str = ""


@dataclass(frozen=True, slots=True)
class AirportFact:
    airport_id: str
    name: str
    name_ru: str
    t: datetime


@dataclass(frozen=True, slots=True)
class NightFacts:
    """What the morning summary reports."""

    kills: int
    airports_en: tuple[str, ...]
    airports_ru: tuple[str, ...]
    sites_recovered: int
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Wording:
    """How the city is named: ``toward_en`` ("the capital") and ``toward_ru`` ("Москву")."""

    toward_en: str
    toward_ru: str


def _time_label(policy: DisclosurePolicy, times: Sequence[datetime]) -> str:
    a, b = policy.time_text(min(times)), policy.time_text(max(times))
    return a if a == b else f"{a}–{b}"


def _places(policy: DisclosurePolicy, facts: Sequence[KillFact]) -> tuple[str, str]:
    en: list[str] = []
    ru: list[str] = []
    for f in sorted(facts, key=lambda f: f.number):
        p = policy.coarsen_place(f.lat, f.lon)
        if p.en not in en:
            en.append(p.en)
            ru.append(p.ru)
    return "; ".join(en), "; ".join(ru)


# --------------------------------------------------------------------------- templates


def _crews_en(crews: bool, sites: int) -> str:
    if not crews:
        return "Emergency services have been alerted."
    return f"Emergency services are working at the crash {'site' if sites == 1 else 'sites'}."


def _crews_ru(crews: bool, sites: int) -> str:
    if not crews:
        return "Экстренные службы оповещены."
    where = "На месте" if sites == 1 else "На местах"
    return f"{where} падения обломков работают специалисты экстренных служб."


def draft_kills(
    policy: DisclosurePolicy, w: Wording, kills: Sequence[KillFact], crews: bool = True
) -> tuple[str, str]:
    """One kill, or several within the batching window, as one statement.

    ``crews``: a crew has been sent to (or is at) a crash site of these kills; without one the
    statement says only that emergency services have been alerted, which is what is true.
    """
    ks = sorted(kills, key=lambda k: k.number)
    label = _time_label(policy, [k.t for k in ks])
    place_en, place_ru = _places(policy, ks)
    nums = [k.number for k in ks]
    c = len(ks)
    if c == 1:
        n = nums[0]
        en = (
            f"{label}. The {ordinal_en(n)} drone flying toward {w.toward_en} has been destroyed. "
            f"Area: {place_en}. {_crews_en(crews, 1)}"
        )
        ru = (
            f"{label}. Отражена атака {ordinal_ru_gen(n)} беспилотника, летевшего на {w.toward_ru}. "
            f"Район: {place_ru}. {_crews_ru(crews, 1)}"
        )
        return en, ru
    more_en = " more" if nums[0] > 1 else ""
    more_ru = "ещё " if nums[0] > 1 else ""
    en = (
        f"{label}. Air defence has destroyed {count_en(c)}{more_en} drones flying toward "
        f"{w.toward_en}, {numbers_en(nums)}. Area: {place_en}. {_crews_en(crews, c)}"
    )
    singular = plural_ru(c, "one", "few", "many") == "one"
    verb, part = ("уничтожен", "летевший") if singular else ("уничтожены", "летевших")
    ru = (
        f"{label}. Силами ПВО {verb} {more_ru}{count_ru(c)} {drones_ru(c)}, {part} на {w.toward_ru}, — "
        f"{numbers_ru(nums)}. Район: {place_ru}. {_crews_ru(crews, c)}"
    )
    return en, ru


def draft_restricted(
    policy: DisclosurePolicy, w: Wording, airports: Sequence[AirportFact]
) -> tuple[str, str]:
    label = _time_label(policy, [a.t for a in airports])
    if len(airports) == 1:
        a = airports[0]
        return (
            f"{label}. Temporary restrictions have been introduced at {a.name} airport "
            f"to ensure flight safety.",
            f"{label}. В аэропорту {a.name_ru} введены временные ограничения "
            f"для обеспечения безопасности полётов.",
        )
    return (
        f"{label}. Temporary restrictions have been introduced at "
        f"{join_en([a.name for a in airports])} airports to ensure flight safety.",
        f"{label}. В аэропортах {join_ru([a.name_ru for a in airports])} введены временные "
        f"ограничения для обеспечения безопасности полётов.",
    )


def draft_lifted(
    policy: DisclosurePolicy, w: Wording, airports: Sequence[AirportFact]
) -> tuple[str, str]:
    label = _time_label(policy, [a.t for a in airports])
    if len(airports) == 1:
        a = airports[0]
        return (
            f"{label}. Temporary restrictions at {a.name} airport have been lifted.",
            f"{label}. В аэропорту {a.name_ru} сняты временные ограничения.",
        )
    return (
        f"{label}. Temporary restrictions at {join_en([a.name for a in airports])} airports "
        f"have been lifted.",
        f"{label}. В аэропортах {join_ru([a.name_ru for a in airports])} сняты временные ограничения.",
    )


def draft_recovered(
    policy: DisclosurePolicy, w: Wording, kills: Sequence[KillFact]
) -> tuple[str, str]:
    """Emergency services have recovered the debris of these kills (times: the recoveries)."""
    ks = sorted(kills, key=lambda k: k.number)
    label = _time_label(policy, [k.t for k in ks])
    place_en, place_ru = _places(policy, ks)
    nums = [k.number for k in ks]
    if len(ks) == 1:
        return (
            f"{label}. Emergency services have recovered the debris of the {ordinal_en(nums[0])} "
            f"drone. Area: {place_en}.",
            f"{label}. Специалисты экстренных служб собрали обломки {ordinal_ru_gen(nums[0])} "
            f"беспилотника. Район: {place_ru}.",
        )
    c = len(ks)
    return (
        f"{label}. Emergency services have recovered the debris of {count_en(c)} drones, "
        f"{numbers_en(nums)}. Area: {place_en}.",
        f"{label}. Специалисты экстренных служб собрали обломки {count_ru(c, genitive=True)} "
        f"{drones_ru_gen(c)} — {numbers_ru(nums, genitive=True)}. Район: {place_ru}.",
    )


def draft_summary(policy: DisclosurePolicy, w: Wording, night: NightFacts) -> tuple[str, str]:
    """The morning summary of the night."""
    span = f"{policy.time_text(night.start)}–{policy.time_text(night.end)}"
    n = night.kills
    if n == 0:
        en = [f"Overnight ({span}) no drones flying toward {w.toward_en} were destroyed."]
        ru = [f"За ночь ({span}) беспилотники, летевшие на {w.toward_ru}, не уничтожались."]
    else:
        one = plural_ru(n, "one", "few", "many") == "one"
        verb, part = ("уничтожен", "летевший") if one else ("уничтожены", "летевших")
        en = [
            f"Overnight ({span}) air defence destroyed {count_en(n)} "
            f"{'drone' if n == 1 else 'drones'} flying toward {w.toward_en}."
        ]
        ru = [
            f"За ночь ({span}) силами ПВО {verb} {count_ru(n)} {drones_ru(n)}, {part} на {w.toward_ru}."
        ]
    if night.airports_en:
        en.append(
            f"Temporary restrictions were in force at {join_en(night.airports_en)} "
            f"{'airport' if len(night.airports_en) == 1 else 'airports'}."
        )
        word = "аэропорту" if len(night.airports_ru) == 1 else "аэропортах"
        ru.append(f"Временные ограничения действовали в {word} {join_ru(night.airports_ru)}.")
    if night.sites_recovered:
        s = night.sites_recovered
        en.append(
            f"Emergency services recovered debris at {count_en(s)} "
            f"{'crash site' if s == 1 else 'crash sites'}."
        )
        ru.append(
            f"Специалисты экстренных служб собрали обломки на {s} "
            f"{plural_ru(s, 'месте', 'местах', 'местах')} падения."
        )
    return " ".join(en), " ".join(ru)


Template = Callable[..., tuple[str, str]]

#: topic -> template; the stage picks by topic, tests and callers may too.
TEMPLATES: dict[str, Template] = {
    "kills": draft_kills,
    "airport_restricted": draft_restricted,
    "airport_lifted": draft_lifted,
    "recovered": draft_recovered,
    "summary": draft_summary,
}


__all__ = [
    "TEMPLATES",
    "AirportFact",
    "KillFact",
    "NightFacts",
    "Wording",
    "accusative_ru",
    "count_en",
    "count_ru",
    "draft_kills",
    "draft_lifted",
    "draft_recovered",
    "draft_restricted",
    "draft_summary",
    "drones_ru",
    "drones_ru_gen",
    "numbers_en",
    "numbers_ru",
    "ordinal_en",
    "ordinal_ru_gen",
    "ordinal_ru_nom",
    "plural_ru",
]
