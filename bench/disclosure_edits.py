"""How fast an officer's edit is checked (normalise, withheld terms, the allowlist).

Prints, for the default scenario and policy, median and p95 over repeats:
  - a 64 KB edit through the stage (refused unread by the length cap);
  - an ordinary edit (one statement, ~150 characters, English and Russian) through the stage;
  - the allowlist check of texts of 250, 1,000 and 2,000 characters (the cap) full of look-alike
    letters, invisible characters, coordinates and numbers in words, to show the cost grows
    linearly with the length;
  - normalise() alone over 64 KB of such text;
  - the rates on the corpora of tests/data/: adversarial edits refused (the hand-written table and
    the composed one) and ordinary edits passed, each played on a freshly drafted statement.

Example:
    PYTHONPATH=. python bench/disclosure_edits.py
    PYTHONPATH=. python bench/disclosure_edits.py --repeats 50
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import tomllib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec

from skywarden.disclosure.allowlist import facts_of
from skywarden.disclosure.normalise import normalise
from skywarden.disclosure.policy import PolicyRules, load_rules
from skywarden.disclosure.stage import DisclosureConfig, DisclosureStage
from skywarden.events import (
    Event,
    InputRefused,
    KillNumbered,
    KillReported,
    StatementDrafted,
    StatementEdited,
    Tick,
)
from skywarden.scenario import LoadedScenario, load_scenario

NASTY = "Пан\u200bцирь ＰＡＮＴＳＩＲ 55º45′04″ двенадцать the 31st drone, Central district. "


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    runs.sort()
    return statistics.median(runs) * 1000, runs[min(len(runs) - 1, int(0.95 * len(runs)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    sc = load_scenario()
    stage = DisclosureStage(sc, DisclosureConfig(batch_window_s=60.0))
    now = sc.at("03:10") + timedelta(seconds=27)
    k = KillNumbered(t=now, report_id="R31", number=31, day_number=31, local_time="03:10",
                     incident_id="INC-R31", track_id=None, matched_by="unmatched",
                     lat=55.75, lon=37.62, alt=0.0)  # fmt: skip
    drafted: list[Event] = []
    for i in range(10):
        t = now + timedelta(seconds=10 * i)
        drafted += stage.step(t, [k, Tick(t=t)] if i == 0 else [Tick(t=t)])
    (d,) = [e for e in drafted if isinstance(e, StatementDrafted)]
    t = now + timedelta(seconds=200)

    def edit(en: str, ru: str) -> list[Event]:
        ev = StatementEdited(t=t, statement_id=d.statement_id, editor="press-1", role="editor",
                             text_en=en, text_ru=ru)  # fmt: skip
        return stage.step(t, [ev])

    huge = (NASTY * 1000)[: 64 * 1024]
    refused = edit(huge, d.text_ru)
    assert any(isinstance(e, InputRefused) and "length" in e.reason for e in refused)
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    med, p95 = timed(lambda: edit(huge, d.text_ru), args.repeats)
    print(f"64 KB edit through the stage (refused by the cap): median {med:.3f} ms, p95 {p95:.3f} ms")
    safe_en = "03:10. The 31st drone has been destroyed. Do not approach debris; call 112."
    safe_ru = "03:10. Отражена атака 31-го беспилотника. Не подходите к обломкам, звоните 112."
    med, p95 = timed(lambda: edit(safe_en, safe_ru), args.repeats)
    print(f"ordinary edit through the stage (en + ru, accepted): median {med:.3f} ms, p95 {p95:.3f} ms")
    facts = facts_of(stage.policy, numbers=[31, 1], times=[now], places=[stage.policy.coarsen_place(55.75, 37.62)])
    for size in (250, 1000, 2000):
        text = (NASTY * (size // len(NASTY) + 1))[:size]
        med, p95 = timed(lambda text=text: stage.allowlist.check(text, facts), args.repeats)  # type: ignore[misc]  # bound per size
        print(f"allowlist check of {size:>5} characters: median {med:.3f} ms, p95 {p95:.3f} ms "
              f"({med * 1000 / size:.2f} us per character)")  # fmt: skip
    med, p95 = timed(lambda: normalise(huge), max(3, args.repeats // 5))
    print(f"normalise() of 64 KB: median {med:.1f} ms, p95 {p95:.1f} ms")
    corpus_rates(sc)


def corpus_rates(sc: LoadedScenario) -> None:
    """Each edit of the corpora on a statement drafted afresh (as the tests play them)."""
    data = Path(__file__).resolve().parent.parent / "tests" / "data"
    hand = tomllib.loads((data / "disclosure_edits.toml").read_text("utf-8"))
    composed = tomllib.loads((data / "disclosure_edits_composed.toml").read_text("utf-8"))

    second_look = msgspec.to_builtins(load_rules())
    second_look["edit"]["unexplained"] = "second_approver"
    second_rules = msgspec.convert(second_look, PolicyRules)

    def refused(case: dict[str, Any], rules: PolicyRules | None = None) -> bool:
        stage = DisclosureStage(sc, DisclosureConfig(batch_window_s=60.0, policy=rules))
        now = sc.at("03:10") + timedelta(seconds=27)
        first: list[Event] = [KillNumbered(t=now, report_id="R31", number=31, day_number=31, local_time="03:10",
                                           incident_id="INC-R31", track_id=None, matched_by="unmatched",
                                           lat=55.75, lon=37.62, alt=0.0)]  # fmt: skip
        if case.get("reported"):
            first.insert(0, KillReported(t=now, report_id="R31", lat=55.75, lon=37.62, alt=0.0,
                                         unit="AD regiment 2, battery 3", effector="short-range SAM"))  # fmt: skip
        out: list[Event] = []
        for i in range(10):
            t = now + timedelta(seconds=10 * i)
            out += stage.step(t, [*first, Tick(t=t)] if i == 0 else [Tick(t=t)])
        (d,) = [e for e in out if isinstance(e, StatementDrafted)]
        t = now + timedelta(seconds=200)
        en = case["text"] if case["lang"] == "en" else d.text_en
        ru = case["text"] if case["lang"] == "ru" else d.text_ru
        got = stage.step(t, [StatementEdited(t=t, statement_id=d.statement_id, editor="press-1", role="editor",
                                             text_en=en, text_ru=ru)])  # fmt: skip
        return any(isinstance(e, InputRefused) for e in got)

    for name, cases, want in (
        ("adversarial edits (hand-written)", hand["bypass"], True),
        ("adversarial edits (composed)", composed["bypass"], True),
        ("ordinary edits", hand["safe"], False),
    ):
        hits = sum(refused(c) == want for c in cases)
        verb = "refused" if want else "passed"
        print(f"{name}: {verb} {hits} of {len(cases)} ({100 * hits / len(cases):.1f} %)")
    every = hand["bypass"] + composed["bypass"]
    let_stand = sum(not refused(c, second_rules) for c in every)
    print(f'with [edit] unexplained = "second_approver": {len(every) - let_stand} of {len(every)} adversarial '
          f"edits refused, {let_stand} let stand for a second approver with the words marked")  # fmt: skip


if __name__ == "__main__":
    main()
