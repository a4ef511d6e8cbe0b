"""The custom actions, as the patient sees them: a tracker built from a dict, a
CollectingDispatcher, and assertions on the text sent back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from actions.actions import ActionAnswerQuestion, ActionDefineTerm
from actions.answers import STORE_UNAVAILABLE
from actions.asked import ABOUT_THE_LAST_ANSWER
from actions.database import DB_URL_VARIABLE
from actions.fallback import SAY_IT_ANOTHER_WAY
from actions.phrasing import capitalised, in_every_hundred, number
from actions.store import KnowledgeStore
from feedback.store import ANSWER_ID
from tests.helpers import (
    PROJECT_ROOT,
    rendered,
    run_action,
    source_line,
    talk_to_a_person,
    texts,
    tracker_from,
)

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
QUESTION_INTENTS = [
    i
    for i in DOMAIN["intents"]
    if i.startswith("ask_")
    and i not in ("ask_definition", "ask_capabilities", "ask_personal_advice", "ask_for_person")
    and i not in ABOUT_THE_LAST_ANSWER  # those need a last answer: tests/test_understanding.py
]
EFFICACY_INTENTS = ["ask_relapse", "ask_relapse_free", "ask_relapse_rate", "ask_disability"]

ALEMTUZUMAB = {"entity": "treatment", "value": "alemtuzumab"}
INTERFERON = {"entity": "treatment", "value": "interferon beta-1a"}

answer = ActionAnswerQuestion()
define = ActionDefineTerm()


def ask(intent: str, text: str = "", entities=None, slots=None) -> list[str]:
    messages, _ = run_action(answer, tracker_from(intent, text, entities, slots))
    return texts(messages)


def test_how_many_relapsed_on_alemtuzumab_gives_35_with_interferons_51_the_caveat_and_the_source(
    use_store,
) -> None:
    sent = ask("ask_relapse", "how many people relapsed on alemtuzumab?", [ALEMTUZUMAB])
    assert len(sent) == 2, "short first: the figures, then the safety note with the source"
    answer_text, caveat = sent
    assert answer_text.startswith(
        "In the CARE-MS II trial, here is how many people had at least one relapse over the 2 years. "
        "On alemtuzumab 12 mg, about 35 in 100 (35%)."
    )
    assert answer_text.index("35%") < answer_text.index("51%"), "the asked arm comes first"
    assert "On interferon beta-1a, about 51 in 100 (51%)." in answer_text
    for risk in ("reaction to the drip", "infection", "autoimmune", "every month"):
        assert risk in caveat
    assert "Lancet" in source_line(sent)


def test_a_follow_up_naming_the_other_treatment_answers_the_same_topic_for_it(use_store) -> None:
    sent = ask(
        "inform_treatment",
        "and on interferon?",
        [INTERFERON],
        {"topic": "relapse", "treatment": "alemtuzumab"},
    )
    assert re.match(
        r"In the CARE-MS II trial, here is how many people [^.]*\. On interferon beta-1a[^,]*, about 51 in 100",
        sent[0],
    )
    assert "On alemtuzumab 12 mg, about 35 in 100 (35%)." in sent[0]


def test_a_follow_up_naming_an_outcome_switches_to_that_topic(use_store) -> None:
    sent = ask(
        "inform_treatment",
        "and the flare-ups on rebif?",
        [{"entity": "outcome", "value": "relapse"}, INTERFERON],
        {"topic": "disability"},
    )
    assert "had at least one relapse" in sent[0] and "interferon beta-1a" in sent[0]


def test_a_follow_up_remembers_the_topic_and_treatment_for_the_next_turn(use_store) -> None:
    _, events = run_action(answer, tracker_from("ask_relapse_rate", "relapse rate on rebif", [INTERFERON]))
    slots = {event["name"]: event["value"] for event in events if event["event"] == "slot"}
    # And the answer's own id, for feedback on it (tests/test_feedback_actions.py).
    assert ANSWER_ID.fullmatch(slots.pop("last_answer"))
    assert slots == {
        "topic": "relapse_rate",
        "treatment": "interferon beta-1a",
        "trial": ["care-ms-ii"],
        "after_the_trial": False,
    }


def test_a_misspelt_treatment_without_an_entity_is_still_understood(use_store) -> None:
    sent = ask("ask_relapse", "how many ppl relapsed on alemtuzamab")
    assert re.match(
        r"In the CARE-MS II trial, here is how many people [^.]*\. On alemtuzumab[^,]*, about 35 in 100",
        sent[0],
    )


def test_a_first_follow_up_with_no_topic_says_what_the_treatment_is(use_store) -> None:
    sent = ask("inform_treatment", "what about lemtrada?", [ALEMTUZUMAB])
    assert "monoclonal antibody" in sent[0]


def test_how_sure_is_the_disability_result_explains_the_relative_42_percent_in_absolute_terms(
    use_store,
) -> None:
    sent = ask("ask_chance", "how sure is this?", slots={"topic": "disability"})
    text = sent[1]
    assert "42% lower" in text and "hazard ratio 0.58" in text
    assert "This 42% improvement is a relative figure" in text
    assert (
        "In plain numbers, about 13 in 100 people on alemtuzumab 12 mg had disability that got worse "
        "and stayed worse for 6 months. On interferon beta-1a, it was about 20 in 100 people." in text
    )
    assert "Kaplan-Meier estimate" in text and "21.1%" in text and "12.7%" in text
    assert "unlikely to be due to chance (p=0.0084)" in text


@pytest.mark.parametrize("intent", EFFICACY_INTENTS)
def test_every_answer_about_benefits_carries_the_safety_caveat(use_store, intent: str) -> None:
    caveats = [t for t in ask(intent) if t.startswith("Safety note:")]
    assert len(caveats) == 1
    for risk in ("reaction to the drip", "infection", "autoimmune", "blood and urine tests every month"):
        assert risk in caveats[0]


@pytest.mark.parametrize(
    "intent, its_own, the_others",
    [
        ("ask_infusion_reactions", "reaction to the drip", ("infection", "autoimmune")),
        ("ask_infections", "infection", ("reaction to the drip", "autoimmune")),
        ("ask_autoimmunity", "autoimmunity", ("reaction to the drip", "infection")),
    ],
)
def test_an_answer_on_one_risk_names_the_other_risks_once(
    use_store, intent: str, its_own: str, the_others: tuple[str, ...]
) -> None:
    sent = ask(intent)
    others = [t for t in sent if t.startswith("Alemtuzumab has other risks too.")]
    assert len(others) == 1, sent
    assert all(risk in others[0] for risk in the_others) and its_own not in others[0]
    assert not any(t.startswith("Safety note:") for t in sent)
    assert sent.index(others[0]) < next(i for i, t in enumerate(sent) if "every month" in t)


@pytest.mark.parametrize("intent", QUESTION_INTENTS)
def test_every_question_topic_gets_an_answer_with_its_source(use_store, intent: str) -> None:
    sent = ask(intent)
    assert sent and all(len(t) > 20 for t in sent), sent
    if intent != "ask_source":  # that answer is the list of sources itself
        assert source_line(sent), sent


def test_infusion_reactions_on_interferon_say_honestly_that_they_do_not_apply(use_store) -> None:
    sent = ask("inform_treatment", "what about rebif", [INTERFERON], {"topic": "infusion_reactions"})
    assert sent[0].startswith("In the CARE-MS II trial, this does not apply to interferon beta-1a")
    assert "On alemtuzumab 12 mg, it was about 90 in 100 people" in sent[0]
    assert any("watched for at least 2 hours" in t for t in sent)


def test_infections_compare_both_arms(use_store) -> None:
    text = ask("ask_infections", "do you get more infections on lemtrada", [ALEMTUZUMAB])[0]
    assert text.index("77%") < text.index("66%")


def test_autoimmunity_names_the_conditions_and_the_monitoring(use_store) -> None:
    text = " ".join(ask("ask_autoimmunity"))
    for words in ("thyroid", "low platelets", "kidney", "every month, until 48 months"):
        assert words in text


def test_monitoring_lists_the_tests_and_how_long_they_go_on(use_store) -> None:
    text = " ".join(ask("ask_monitoring"))
    assert "every month" in text and "every 3 months" in text and "48 months" in text


def test_participants_say_who_and_how_many(use_store) -> None:
    text = ask("ask_participants")[0]
    assert "had a relapse on their first MS medicine" in text and "interferon beta or glatiramer" in text
    assert (
        "667 people" in text
        and "426 people on alemtuzumab 12 mg" in text
        and "202 people on interferon beta-1a" in text
    )


def test_allocation_explains_the_2_to_1_random_choice(use_store) -> None:
    text = ask("ask_allocation")[0]
    assert "by chance" in text and "2:1" in text and "interactive voice system" in text


def test_the_24_mg_group_was_stopped_and_is_not_in_the_main_comparison(use_store) -> None:
    text = ask("ask_higher_dose_group")[0]
    assert "24 mg" in text and "stopped early" in text and "not part of the main comparison" in text


def test_the_primary_endpoints_are_relapse_rate_and_sustained_disability(use_store) -> None:
    text = " ".join(ask("ask_primary_endpoints"))
    assert "Annualised relapse rate." in text and "sustained accumulation of disability" in text


@pytest.mark.parametrize(
    "entities, expected",
    [([ALEMTUZUMAB], "5 days in a row"), ([INTERFERON], "three times a week"), ([], "three times a week")],
)
def test_how_a_treatment_is_given(use_store, entities, expected: str) -> None:
    assert expected in " ".join(ask("ask_how_given", entities=entities))


def test_how_alemtuzumab_works_mentions_cd52_and_lymphocytes(use_store) -> None:
    text = ask("ask_mechanism", entities=[ALEMTUZUMAB])[0]
    assert "CD52" in text and "lymphocytes" in text


def test_what_interferon_is(use_store) -> None:
    text = ask("ask_what_is_treatment", "what is rebif", [INTERFERON])[0]
    assert text.startswith("Interferon beta-1a (brand name Rebif)")


def test_where_the_figures_come_from_lists_every_source_with_its_date(
    use_store, store: KnowledgeStore
) -> None:
    text = ask("ask_source")[0]
    for source in store.sources():
        assert capitalised(source.short_citation) in text and source.published in text


@pytest.mark.parametrize(
    "term, words",
    [
        ("relapse", "flare-up"),
        ("randomised", "chance decided"),
        ("sustained accumulation of disability", "still worse"),
        ("CD52", "marker"),
        ("monoclonal antibody", "made in a lab"),
    ],
)
def test_words_are_explained_in_plain_language(use_store, term: str, words: str) -> None:
    messages, _ = run_action(
        define, tracker_from("ask_definition", f"what does {term} mean", [{"entity": "term", "value": term}])
    )
    sent = texts(messages)
    assert words in sent[0]
    assert source_line(sent)


def test_a_word_not_in_the_glossary_gets_the_list_of_words_it_knows(use_store) -> None:
    messages, _ = run_action(
        define,
        tracker_from("ask_definition", "what does zorblax mean", [{"entity": "term", "value": "zorblax"}]),
    )
    assert "can't explain that word yet" in texts(messages)[0]
    assert "CD52" in texts(messages)[0]


def test_no_topic_at_all_asks_what_the_person_wants(use_store) -> None:
    messages, _ = run_action(answer, tracker_from("nlu_fallback", "hmm"))
    assert texts(messages) == [SAY_IT_ANOTHER_WAY, talk_to_a_person()]
    assert messages[0]["buttons"][0] == {"title": "What the trial found", "payload": "/ask_results"}


@pytest.mark.parametrize(
    "url",
    ["sqlite:///{tmp}/missing.db", "postgresql://nobody@127.0.0.1:9/none?connect_timeout=2"],
    ids=["database file missing", "database server down"],
)
def test_a_store_that_is_down_gets_a_graceful_reply_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str
) -> None:
    monkeypatch.setenv(DB_URL_VARIABLE, url.format(tmp=tmp_path))
    for action, intent in ((answer, "ask_relapse"), (define, "ask_definition")):
        messages, _ = run_action(action, tracker_from(intent, "relapse"))
        assert texts(messages) == [rendered(STORE_UNAVAILABLE)]
        assert "can't look that up right now" in rendered(STORE_UNAVAILABLE)


def test_figures_are_said_as_stored_and_as_natural_frequencies() -> None:
    assert number(51.0) == "51" and number(0.0084) == "0.0084" and number(-0.17) == "-0.17"
    assert (
        in_every_hundred(46.7) == 47 and in_every_hundred(12.5) == 13 and in_every_hundred(0.26 * 100) == 26
    )


def test_the_word_typed_is_explained_even_when_a_synonym_renamed_it(use_store) -> None:
    """Synonyms are shared by entities: "EDSS" typed as a term arrives valued "disability"."""
    typed_as_term = {"entity": "term", "value": "disability", "start": 10, "end": 14}
    messages, _ = run_action(define, tracker_from("ask_definition", "what does EDSS mean", [typed_as_term]))
    assert texts(messages)[0].startswith("The EDSS is the usual scale")


@pytest.mark.parametrize(
    "slots",
    [{"treatment": {"x": 1}}, {"topic": ["relapse"]}, {"trial": {"care-ms-i": 1}}, {"trial": "care-ms-i"}],
    ids=repr,
)
def test_a_slot_that_is_not_what_it_should_be_is_ignored_not_a_crash(use_store, slots) -> None:
    """`/greet{"treatment": {"x": 1}}` once set a slot to a dict and broke every later answer."""
    messages, _ = run_action(answer, tracker_from("ask_relapse", "how many relapsed?", slots=slots))
    assert any("35%" in text for text in texts(messages))
