"""Statement templates in English and Russian: ordinals, plural forms, batching."""

from __future__ import annotations

from datetime import timedelta

import pytest

from skywarden.disclosure.drafting import (
    AirportFact,
    KillFact,
    NightFacts,
    Wording,
    accusative_ru,
    draft_kills,
    draft_lifted,
    draft_recovered,
    draft_restricted,
    draft_summary,
    drones_ru,
    numbers_en,
    numbers_ru,
    ordinal_en,
    ordinal_ru_gen,
    plural_ru,
)
from skywarden.disclosure.policy import DisclosurePolicy
from skywarden.scenario import LoadedScenario

W = Wording("the capital", "Москву")


@pytest.fixture()
def pol(scenario: LoadedScenario) -> DisclosurePolicy:
    return DisclosurePolicy.for_scenario(scenario)


@pytest.mark.parametrize(
    ("n", "en"),
    [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (13, "13th"),
     (21, "21st"), (22, "22nd"), (23, "23rd"), (31, "31st"), (101, "101st"), (111, "111th"), (112, "112th")],
)  # fmt: skip
def test_english_ordinals(n: int, en: str) -> None:
    assert ordinal_en(n) == en


@pytest.mark.parametrize(
    ("n", "form"),
    [(1, "беспилотник"), (2, "беспилотника"), (3, "беспилотника"), (4, "беспилотника"),
     (5, "беспилотников"), (11, "беспилотников"), (12, "беспилотников"), (14, "беспилотников"),
     (20, "беспилотников"), (21, "беспилотник"), (22, "беспилотника"), (25, "беспилотников"),
     (101, "беспилотник"), (111, "беспилотников"), (112, "беспилотников"), (0, "беспилотников")],
)  # fmt: skip
def test_russian_plural_forms(n: int, form: str) -> None:
    assert drones_ru(n) == form
    assert plural_ru(n, "one", "few", "many") == {"беспилотник": "one", "беспилотника": "few"}.get(
        form, "many"
    )


def test_russian_ordinals_and_runs() -> None:
    assert ordinal_ru_gen(31) == "31-го"
    assert numbers_ru([29, 30, 31]) == "с 29-го по 31-й"
    assert numbers_ru([29, 30, 32]) == "29-й, 30-й и 32-й"
    assert numbers_ru([7, 8]) == "7-й и 8-й"
    assert numbers_ru([7, 9], genitive=True) == "7-го и 9-го"
    assert numbers_en([31, 29, 30]) == "the 29th to the 31st"
    assert numbers_en([1, 2]) == "the 1st and 2nd"
    assert numbers_en([21, 23, 24]) == "the 21st, 23rd and 24th"
    assert accusative_ru("Москва") == "Москву" and accusative_ru("Тверь") == "Тверь"


def _kill(
    scenario: LoadedScenario, n: int, minutes: float, lat: float = 55.7539, lon: float = 37.6208
) -> KillFact:
    return KillFact(f"R{n}", n, scenario.at("02:00") + timedelta(minutes=minutes), lat, lon)


def test_one_kill_in_both_languages(scenario: LoadedScenario, pol: DisclosurePolicy) -> None:
    en, ru = draft_kills(pol, W, [_kill(scenario, 31, 12.5)])
    assert en == (
        "02:10. The 31st drone flying toward the capital has been destroyed. Area: Central district. "
        "Emergency services are working at the crash site."
    )
    assert ru == (
        "02:10. Отражена атака 31-го беспилотника, летевшего на Москву. Район: Центральный округ. "
        "На месте падения обломков работают специалисты экстренных служб."
    )


def test_several_kills_become_one_statement(
    scenario: LoadedScenario, pol: DisclosurePolicy
) -> None:
    kills = [_kill(scenario, 29, 1), _kill(scenario, 30, 2), _kill(scenario, 31, 6, 55.62, 37.75)]
    en, ru = draft_kills(pol, W, kills)
    assert en.startswith(
        "02:00–02:05. Air defence has destroyed three more drones flying toward the capital, the 29th to the 31st."
    )
    assert "Area: Central district; " in en
    assert ru.startswith(
        "02:00–02:05. Силами ПВО уничтожены ещё три беспилотника, летевших на Москву, — с 29-го по 31-й."
    )
    assert "Район: Центральный округ; " in ru


def test_batch_word_forms_follow_the_count(scenario: LoadedScenario, pol: DisclosurePolicy) -> None:
    five = [_kill(scenario, n, 1) for n in range(10, 15)]
    _, ru = draft_kills(pol, W, five)
    assert "уничтожены ещё пять беспилотников, летевших" in ru
    twenty_one = [_kill(scenario, n, 1) for n in range(1, 22)]
    en, ru = draft_kills(pol, W, twenty_one)
    assert "уничтожен 21 беспилотник, летевший на Москву, — с 1-го по 21-й" in ru
    assert "destroyed 21 drones flying" in en and "more" not in en.split(".")[1]
    two = [_kill(scenario, 1, 1), _kill(scenario, 2, 1)]
    en, ru = draft_kills(pol, W, two)
    assert "destroyed two drones flying toward the capital, the 1st and 2nd." in en
    assert "уничтожены два беспилотника, летевших на Москву, — 1-й и 2-й." in ru


def test_airport_statements(scenario: LoadedScenario, pol: DisclosurePolicy) -> None:
    t = scenario.at("01:07")
    vko = AirportFact("VKO", "Vnukovo", "Внуково", t)
    dme = AirportFact("DME", "Domodedovo", "Домодедово", t)
    en, ru = draft_restricted(pol, W, [vko])
    assert (
        en
        == "01:05. Temporary restrictions have been introduced at Vnukovo airport to ensure flight safety."
    )
    assert (
        ru
        == "01:05. В аэропорту Внуково введены временные ограничения для обеспечения безопасности полётов."
    )
    en, ru = draft_restricted(pol, W, [vko, dme])
    assert "at Vnukovo and Domodedovo airports" in en and "В аэропортах Внуково и Домодедово" in ru
    en, ru = draft_lifted(pol, W, [vko])
    assert en == "01:05. Temporary restrictions at Vnukovo airport have been lifted."
    assert ru == "01:05. В аэропорту Внуково сняты временные ограничения."


def test_recovery_statements(scenario: LoadedScenario, pol: DisclosurePolicy) -> None:
    en, ru = draft_recovered(pol, W, [_kill(scenario, 7, 30)])
    assert "recovered the debris of the 7th drone" in en
    assert "собрали обломки 7-го беспилотника" in ru
    en, ru = draft_recovered(pol, W, [_kill(scenario, n, 30) for n in (7, 8, 9)])
    assert "the debris of three drones, the 7th to the 9th" in en
    assert "обломки трёх беспилотников — с 7-го по 9-й" in ru
    _, ru = draft_recovered(pol, W, [_kill(scenario, n, 30) for n in (23, 29)])
    assert "обломки двух беспилотников — 23-го и 29-го." in ru


def test_morning_summary(scenario: LoadedScenario, pol: DisclosurePolicy) -> None:
    night = NightFacts(
        44, ("Vnukovo", "Domodedovo"), ("Внуково", "Домодедово"), 3, scenario.start, scenario.end
    )
    en, ru = draft_summary(pol, W, night)
    assert en.startswith(
        "Overnight (00:00–04:00) air defence destroyed 44 drones flying toward the capital."
    )
    assert "Vnukovo and Domodedovo airports" in en and "three crash sites" in en
    assert ru.startswith(
        "За ночь (00:00–04:00) силами ПВО уничтожены 44 беспилотника, летевших на Москву."
    )
    _, ru1 = draft_summary(pol, W, NightFacts(1, (), (), 0, scenario.start, scenario.end))
    assert "уничтожен один беспилотник, летевший на Москву" in ru1
    en0, _ = draft_summary(pol, W, NightFacts(0, (), (), 0, scenario.start, scenario.end))
    assert "no drones" in en0


def test_templates_never_break_the_policy(scenario: LoadedScenario, pol: DisclosurePolicy) -> None:
    kills = [_kill(scenario, n, n * 0.37, 55.5 + n * 0.013, 37.3 + n * 0.021) for n in range(1, 12)]
    for texts in (draft_kills(pol, W, kills), draft_recovered(pol, W, kills[:3])):
        for text in texts:
            assert pol.check(text) == []


def test_without_a_crew_sent_the_statement_says_only_alerted(
    scenario: LoadedScenario, pol: DisclosurePolicy
) -> None:
    en, ru = draft_kills(pol, W, [_kill(scenario, 3, 1)], crews=False)
    assert en.endswith("Emergency services have been alerted.") and "working" not in en
    assert ru.endswith("Экстренные службы оповещены.") and "работают" not in ru
    en, ru = draft_kills(pol, W, [_kill(scenario, 3, 1), _kill(scenario, 4, 1)], crews=True)
    assert en.endswith("Emergency services are working at the crash sites.")
    assert ru.endswith("На местах падения обломков работают специалисты экстренных служб.")
