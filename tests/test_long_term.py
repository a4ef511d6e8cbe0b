"""What happened after the trials: the 5-year follow-ups, answered honestly as what they are.

The follow-ups had no comparison group, count only the people who chose to stay on, and allowed
extra courses. Every answer holding one of their figures says so, and none of their figures is
ever mixed into a 2-year answer. Tested as the patient sees it: a tracker from a dict, the
answering action, the text sent back.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from actions.actions import ActionAnswerQuestion
from actions.long_term import NO_COMPARISON_TO_JUDGE
from actions.models import Comparison, FollowUpResult, Result
from actions.phrasing import in_every_hundred, number
from actions.store import KnowledgeStore
from actions.topics import TERMINAL_CHANNEL, WHAT_HAPPENED_AFTER
from tests.helpers import PROJECT_ROOT, run_action, source_line, texts, tracker_from

NO_COMPARISON_GROUP = "This part had no comparison group."
ALEMTUZUMAB = {"entity": "treatment", "value": "alemtuzumab"}
INTERFERON = {"entity": "treatment", "value": "interferon beta-1a"}
CARE_MS_I = {"entity": "trial", "value": "care-ms-i"}
AFTER_AN_ANSWER_ON_LATER_YEARS = {"topic": "long_term", "trial": ["care-ms-ii"], "after_the_trial": True}

answer = ActionAnswerQuestion()


def ask(intent: str, text: str, entities=None, slots=None, channel=None) -> tuple[list[str], list, dict]:
    messages, events = run_action(answer, tracker_from(intent, text, entities, slots, channel))
    slots_set = {event["name"]: event["value"] for event in events if event["event"] == "slot"}
    return texts(messages), messages, slots_set


def test_does_it_last_gets_the_follow_up_in_natural_frequencies_with_its_limits(use_store) -> None:
    sent, _, slots = ask("ask_long_term", "does it last?")
    text = sent[0]
    assert text.startswith("Here is what happened after the CARE-MS II trial.")
    assert NO_COMPARISON_GROUP in text and "chose to stay on" in text
    assert "So it cannot show that alemtuzumab caused these results." in text
    assert "And they do not compare it with interferon beta-1a." in text
    assert (
        "In the 5 years, about 60 in 100 people did not need a third course of alemtuzumab (59.8%)." in text
    )
    assert "In year 3, there were about 22 relapses for every 100 people." in text
    assert "In the 5 years, about 75 in 100 people had no lasting worsening of their disability" in text
    assert "(52.9%, 54.2% and 58.2%)" in text
    assert any(t.startswith("Safety note:") for t in sent), "a benefit answer keeps the safety note"
    assert "5-year CARE-MS II paper" in source_line(sent)
    assert slots["after_the_trial"] is True and slots["trial"] == ["care-ms-ii"]


def test_the_first_trial_s_follow_up_has_its_own_figures(use_store) -> None:
    text = ask("ask_long_term", "what happened after CARE-MS I?", [CARE_MS_I])[0][0]
    assert text.startswith("Here is what happened after the CARE-MS I trial.") and NO_COMPARISON_GROUP in text
    assert "(68.5%)" in text and "(79.7%)" in text and "59.8%" not in text


def test_more_infusions_gets_the_further_courses_figure_alone(use_store) -> None:
    text = ask("ask_long_term", "did people need more infusions?")[0][0]
    assert "did not need a third course of alemtuzumab (59.8%)" in text and NO_COMPARISON_GROUP in text
    assert "relapses for every 100 people" not in text


def test_relapses_in_later_years_is_answered_from_the_follow_up_whatever_the_intent(use_store) -> None:
    text = ask("ask_relapse_rate", "relapses in later years?", [{"entity": "outcome", "value": "relapse"}])[
        0
    ][0]
    assert NO_COMPARISON_GROUP in text
    assert "In year 4 there were 23 and in year 5 there were 18" in text
    assert "0.22, 0.23 and 0.18 relapses for each person in a year" in text
    assert "disability" not in text.split(NO_COMPARISON_GROUP)[1]


def test_and_disability_after_a_later_answer_stays_with_the_later_years(use_store) -> None:
    sent, _, slots = ask(
        "ask_disability",
        "and disability?",
        [{"entity": "outcome", "value": "disability"}],
        AFTER_AN_ANSWER_ON_LATER_YEARS,
    )
    assert NO_COMPARISON_GROUP in sent[0] and "(75.1%)" in sent[0] and "(42.9%)" in sent[0]
    assert "hazard ratio" not in " ".join(sent)
    assert slots["after_the_trial"] is True and slots["topic"] == "disability"


def test_and_in_the_other_trial_after_a_later_answer_gives_that_trial_s_follow_up(use_store) -> None:
    sent = ask(
        "inform_trial",
        "and in the other trial?",
        [{"entity": "trial", "value": "other"}],
        AFTER_AN_ANSWER_ON_LATER_YEARS,
    )[0]
    assert (
        sent[0].startswith("Here is what happened after the CARE-MS I trial.")
        and NO_COMPARISON_GROUP in sent[0]
    )


def test_a_question_on_the_2_years_after_a_later_answer_gets_the_trial_s_own_answer(use_store) -> None:
    for text in ("how many had a relapse?", "and at 2 years?"):
        sent = ask("ask_relapse", text, None, AFTER_AN_ANSWER_ON_LATER_YEARS)[0]
        assert re.match(
            r"In the CARE-MS II trial, here is how many people [^.]*\. On alemtuzumab[^,]*, about 35 in 100",
            sent[0],
        ), text
        assert not any(NO_COMPARISON_GROUP in t for t in sent)


@pytest.mark.parametrize(
    "text",
    [
        "not the 5 year results, just the main 2 year ones please - how many relapsed?",
        "forget the long term stuff, how many relapsed in the trial?",
    ],
)
def test_later_years_ruled_out_get_the_trial_s_own_answer(use_store, text: str) -> None:
    """The words name the later years only to rule them out: however the model reads them."""
    for intent in ("ask_long_term", "ask_relapse"):
        sent = ask(intent, text, [{"entity": "outcome", "value": "relapse"}])[0]
        assert re.match(
            r"In the CARE-MS II trial, here is how many people [^.]*\. On alemtuzumab[^,]*, about 35 in 100",
            sent[0],
        ), (intent, sent[0])
        assert not any(NO_COMPARISON_GROUP in t for t in sent)


def test_is_that_good_after_a_later_answer_says_there_is_nothing_fair_to_compare_with(use_store) -> None:
    sent = ask("ask_judgement", "is that good?", None, AFTER_AN_ANSWER_ON_LATER_YEARS)[0]
    assert NO_COMPARISON_GROUP in sent[0] and NO_COMPARISON_TO_JUDGE in sent[0]
    assert not re.search(r"\d+(\.\d+)?%", sent[0]), "no figure is judged"


def test_later_years_on_interferon_are_honestly_not_counted(use_store) -> None:
    text = ask("ask_long_term", "does rebif keep working?", [INTERFERON])[0][0]
    assert text.startswith(
        "Only people on alemtuzumab 12 mg were counted in the CARE-MS II follow-up. "
        "So I have no figures for interferon beta-1a after the trial. I won't guess."
    )


def test_a_2_year_benefit_answer_offers_what_happened_after(use_store) -> None:
    _, messages, slots = ask("ask_relapse", "how many relapsed?")
    payloads = [button["payload"] for button in messages[-1]["buttons"]]
    assert "/ask_long_term" in payloads
    assert slots["after_the_trial"] is False
    terminal = ask("ask_relapse", "how many relapsed?", channel=TERMINAL_CHANNEL)[0]
    assert f'"{WHAT_HAPPENED_AFTER.in_words}"' in terminal[-1]


def test_a_risk_answer_does_not_offer_the_follow_up(use_store) -> None:
    _, messages, _ = ask("ask_infections", "do you get infections?")
    assert all(b["payload"] != "/ask_long_term" for m in messages for b in m.get("buttons") or [])


@pytest.fixture(scope="module")
def answers(every_answer_from_sqlite: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return every_answer_from_sqlite


def follow_up_only_figures(knowledge_url: str) -> set[str]:
    """The follow-ups' figures, as said, that no trial result or comparison shares (0.18 is both a
    2-year rate and a year-5 rate, so it cannot tell which was said)."""
    with KnowledgeStore.open(knowledge_url) as store:
        trial = {
            number(r.value) for r in store.session.execute(select(Result)).scalars() if r.value is not None
        }
        for comparison in store.session.execute(select(Comparison)).scalars():
            values = (comparison.value, comparison.ci_lower, comparison.ci_upper, comparison.p_value)
            trial.update(number(value) for value in values if value is not None)
        later = {number(r.value) for r in store.session.execute(select(FollowUpResult)).scalars()}
    return later - trial


def test_every_answer_with_a_follow_up_figure_says_it_had_no_comparison_group(
    answers: list[tuple[str, str]], knowledge_url: str
) -> None:
    later = [(where, text) for where, text in answers if where.startswith("after the trial /")]
    with_figures = [(w, t) for w, t in later if re.search(r"\d%|\d\.\d", t) and not t.startswith("Source")]
    with_figures = [(w, t) for w, t in with_figures if not t.startswith("Safety note:")]
    assert len(with_figures) > 100
    assert [(w, t) for w, t in with_figures if NO_COMPARISON_GROUP not in t] == []


def test_no_follow_up_figure_or_source_is_in_a_2_year_answer(
    answers: list[tuple[str, str]], knowledge_url: str
) -> None:
    figures = follow_up_only_figures(knowledge_url)
    assert {"92.9", "59.8", "75.1", "52.9", "95.1", "68.5"} <= figures
    # The list of sources names every source, the follow-ups' too: it gives no figure.
    trial_answers = [(w, t) for w, t in answers if not w.startswith(("after the trial /", "source /"))]
    assert len(trial_answers) > 1000
    mixed = [
        (where, text)
        for where, text in trial_answers
        if set(re.findall(r"\d+(?:\.\d+)?", text)) & figures or "5-year" in text or "follow-up" in text
    ]
    assert mixed == []


def later_figures_in_the_facts_sheet() -> list[str]:
    """Every figure of the facts sheet's follow-up table, as the project's copy has it."""
    sheet = (PROJECT_ROOT / "docs" / "sources" / "trial-facts.md").read_text()
    section = sheet.split("## After the trials")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    cells = [cell for row in rows for cell in row.split("|")[2:4]]
    return sorted({figure for cell in cells for figure in re.findall(r"\d+\.\d+", cell)})


@pytest.mark.parametrize("figure", later_figures_in_the_facts_sheet())
def test_every_follow_up_figure_of_the_facts_sheet_is_said_by_some_answer(
    answers: list[tuple[str, str]], figure: str
) -> None:
    said = "\n".join(text for where, text in answers if where.startswith("after the trial /"))
    assert figure in re.findall(r"\d+(?:\.\d+)?", said)


def test_every_follow_up_percentage_is_also_said_in_every_hundred(
    answers: list[tuple[str, str]], knowledge_url: str
) -> None:
    said = "\n".join(text for where, text in answers if where.startswith("after the trial /"))
    with KnowledgeStore.open(knowledge_url) as store:
        for result in store.session.execute(select(FollowUpResult)).scalars():
            scale = 1 if result.unit == "percent" else 100
            assert str(in_every_hundred(float(Decimal(str(result.value)) * scale))) in said


@pytest.mark.parametrize(
    "text", ["does it last?", "did people need more infusions?", "relapses in later years?"]
)
@pytest.mark.parametrize("trial", [[], [CARE_MS_I]])
def test_every_answer_about_the_years_after_carries_the_safety_caveat(use_store, text: str, trial) -> None:
    sent = ask("ask_long_term", text, trial)[0]
    caveats = [t for t in sent if t.startswith("Safety note:")]
    assert len(caveats) == 1
    for risk in ("reaction to the drip", "infection", "autoimmune", "blood and urine tests every month"):
        assert risk in caveats[0]


@pytest.mark.parametrize("text", ["how many were relapse free after two years?", "relapses after 2 years?"])
def test_after_two_years_without_the_is_the_end_of_the_trial(use_store, text: str) -> None:
    """The trials lasted 2 years: "after two years" is when they ended, "after the 2 years" is later."""
    sent = ask("ask_relapse", text, [{"entity": "outcome", "value": "relapse"}])[0]
    assert sent[0].startswith("In the CARE-MS II trial, here is how many people"), sent[0]
    assert not any(NO_COMPARISON_GROUP in t for t in sent)
