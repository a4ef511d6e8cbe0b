"""Store queries: the default trial, topics, treatments and words people use for them."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import event, select

from actions.database import StoreUnavailable
from actions.models import (
    Arm,
    Comparison,
    FollowUpResult,
    GlossaryTerm,
    Guidance,
    Result,
    SafetyFinding,
    Treatment,
    Trial,
)
from actions.store import KnowledgeStore


def test_the_default_trial_is_the_one_marked_default(store: KnowledgeStore) -> None:
    trial = store.trial()
    assert trial.is_default
    assert store.trial(trial.key) is trial


def test_an_unknown_trial_is_an_error_not_a_guess(store: KnowledgeStore) -> None:
    with pytest.raises(StoreUnavailable):
        store.trial("no-such-trial")


def test_a_topic_brings_its_endpoints_with_results_for_each_main_arm(store: KnowledgeStore) -> None:
    trial = store.trial()
    endpoints = store.endpoints_on(trial, "relapse")
    assert endpoints
    arms_with_results = {result.arm.key for result in endpoints[0].results}
    main_arms = {arm.key for arm in trial.arms if arm.role != "exploratory"}
    assert arms_with_results == main_arms


def test_the_topics_cover_every_outcome_the_conversation_asks_about(store: KnowledgeStore) -> None:
    expected = {
        "relapse",
        "relapse_free",
        "relapse_rate",
        "disability",
        "infusion_reactions",
        "infections",
        "autoimmunity",
    }
    assert expected <= store.topics(store.trial())


def test_every_fact_in_the_store_has_a_source(store: KnowledgeStore) -> None:
    for model in (Trial, Arm, Result, Comparison, SafetyFinding, Guidance, Treatment, GlossaryTerm):
        for row in store.session.execute(select(model)).scalars():
            assert row.sources, f"{model.__name__} {getattr(row, 'key', row.id)} has no source"


@pytest.mark.parametrize(
    "words, treatment",
    [
        ("alemtuzumab", "alemtuzumab"),
        ("Lemtrada", "alemtuzumab"),
        ("the drip", "alemtuzumab"),
        ("alemtuzamab", "alemtuzumab"),
        ("alemtuzumb", "alemtuzumab"),
        ("how many relapsed on lemtrda?", "alemtuzumab"),
        ("Rebif", "interferon beta-1a"),
        ("interferon beta 1a", "interferon beta-1a"),
        ("Interferon-beta-1a", "interferon beta-1a"),
        ("the injections", "interferon beta-1a"),
        ("interferom", "interferon beta-1a"),
        ("and for rebiff?", "interferon beta-1a"),
    ],
)
def test_people_s_words_for_a_treatment_are_recognised(
    store: KnowledgeStore, words: str, treatment: str
) -> None:
    found = store.find_treatment(words)
    assert found is not None and found.name == treatment


@pytest.mark.parametrize(
    "words",
    [
        "how many people relapsed",
        "infections",
        "what were the main endpoints",
        "",
        "?!",
        # Nearly "no treatment" (a placebo), letter for letter, but not in words.
        "people already on treatment",
        "in people who relapsed on earlier treatment",
    ],
)
def test_words_that_name_no_treatment_find_none(store: KnowledgeStore, words: str) -> None:
    assert store.find_treatment(words) is None


@pytest.mark.parametrize(
    "words, term",
    [
        ("randomized", "randomised"),
        ("CD 52", "CD52"),
        ("a flare-up", "relapse"),
        ("SAD", "sustained accumulation of disability"),
    ],
)
def test_glossary_words_are_found_by_alias_and_spelling(store: KnowledgeStore, words: str, term: str) -> None:
    found = store.find_glossary_term(words)
    assert found is not None and found.term == term


def test_a_missing_embedded_database_is_reported_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(StoreUnavailable, match="has not been built"):
        with KnowledgeStore.open(f"sqlite:///{missing}"):
            pass
    assert not missing.exists()


def test_an_unreachable_database_server_is_reported() -> None:
    with pytest.raises(StoreUnavailable):
        with KnowledgeStore.open("postgresql://nobody@127.0.0.1:9/none?connect_timeout=2") as store:
            store.trial()


def test_a_huge_message_is_searched_without_running_away(store: KnowledgeStore) -> None:
    filler = "word " * 100_000
    assert store.find_treatment(filler + "and on rebif?").name == "interferon beta-1a"
    assert store.find_treatment(filler + "and on rebiff?") is None  # misspellings only near the start


def statements_while(store: KnowledgeStore, ask: Callable[[], object]) -> int:
    """How many SQL statements the store sends while `ask()` runs."""
    sent: list[str] = []
    engine = store.session.get_bind()

    def count(*_args: object) -> None:
        sent.append("")

    event.listen(engine, "before_cursor_execute", count)
    try:
        ask()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(sent)


def test_one_answer_asks_the_database_each_question_once(store: KnowledgeStore) -> None:
    """Composing an answer, its picture and its offers asks again for the trials and the names in
    the message; within one answer (one store) the database is asked once."""
    trial = store.trial()
    store.trials()
    store.find_treatment("how many relapsed on lemtrada?")
    assert statements_while(store, store.trials) == 0
    assert statements_while(store, lambda: store.trial(trial.key)) == 0
    assert statements_while(store, lambda: store.find_treatment("how many relapsed on lemtrada?")) == 0
    assert statements_while(store, lambda: store.find_treatment("and on rebif?")) > 0


def test_the_next_answer_reads_the_store_afresh(knowledge_url: str) -> None:
    """A store lives for one answer, so what a reload changed is seen by the next one."""
    with KnowledgeStore.open(knowledge_url) as first:
        first.trials()
    with KnowledgeStore.open(knowledge_url) as second:
        assert statements_while(second, second.trials) > 0


def test_the_sources_of_the_figures_take_one_query_per_kind_of_row(store: KnowledgeStore) -> None:
    """Every conversation opens with the years of these sources: reading each row's sources one
    row at a time took 64 statements and 23 ms."""
    cited = {
        source.key
        for model in (Result, Comparison, FollowUpResult, Guidance)
        for row in store.session.execute(select(model)).scalars()
        for source in row.sources
    }
    store.session.expunge_all()
    found: list = []
    assert statements_while(store, lambda: found.extend(store.sources_of_figures())) <= 4
    assert {source.key for source in found} == cited
    assert [source.published for source in found] == sorted(source.published for source in found)
