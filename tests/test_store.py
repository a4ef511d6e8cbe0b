"""Store queries: the default trial, topics, treatments and words people use for them."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine

from actions.database import StoreUnavailable, engine_for
from actions.loader import load_knowledge
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
from actions.store import KnowledgeStore, kept_store


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


def statements_sent(engine: Engine, ask: Callable[[], object]) -> int:
    """How many SQL statements are sent through `engine` while `ask()` runs."""
    sent: list[str] = []

    def count(*_args: object) -> None:
        sent.append("")

    event.listen(engine, "before_cursor_execute", count)
    try:
        ask()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(sent)


def statements_while(store: KnowledgeStore, ask: Callable[[], object]) -> int:
    """How many SQL statements the store sends while `ask()` runs."""
    return statements_sent(store.session.get_bind(), ask)


def test_one_answer_asks_the_database_each_question_once(store: KnowledgeStore) -> None:
    """Composing an answer, its picture and its offers asks again for the trials and the names in
    the message; within one answer (one store) the database is asked once."""
    trial = store.trial()
    store.trials()
    store.find_treatment("how many relapsed on lemtrada?")
    assert statements_while(store, store.trials) == 0
    assert statements_while(store, lambda: store.trial(trial.key)) == 0
    assert statements_while(store, lambda: store.find_treatment("how many relapsed on lemtrada?")) == 0
    found: list = []
    assert statements_while(store, lambda: found.append(store.find_treatment("and on rebif?"))) == 0
    assert found[0].name == "interferon beta-1a"  # new words, the treatments already read


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


# The action server's store: what a thread has read is kept while the store holds the same load.


def relapse_meaning(url: str, words: str = "what is a relapse") -> str:
    with kept_store(url) as store:
        term = store.find_glossary_term(words)
        assert term is not None
        return term.meaning


@pytest.fixture
def own_store(knowledge_copy: Path, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'knowledge.db'}"
    load_knowledge(knowledge_copy, url)
    return url


def test_a_later_answer_asks_only_which_load_the_store_holds(own_store: str) -> None:
    first = statements_sent(engine_for(own_store), lambda: relapse_meaning(own_store))
    assert first > 1
    assert statements_sent(engine_for(own_store), lambda: relapse_meaning(own_store)) == 1


def test_the_answer_after_a_new_load_reads_the_new_contents(knowledge_copy: Path, own_store: str) -> None:
    assert relapse_meaning(own_store).startswith("A relapse is also called")
    glossary = knowledge_copy / "glossary.yml"
    glossary.write_text(glossary.read_text().replace("A relapse is also called", "A relapse, also called", 1))
    load_knowledge(knowledge_copy, own_store)
    assert relapse_meaning(own_store).startswith("A relapse, also called")
    assert statements_sent(engine_for(own_store), lambda: relapse_meaning(own_store)) == 1


def test_a_patient_s_words_are_not_kept_past_the_answer(own_store: str) -> None:
    words = "my neighbour jo says lemtrada is on the nhs"
    with kept_store(own_store) as store:
        assert store.find_treatment(words).name == "alemtuzumab"
        assert store.find_other_trial(words) is None
    with kept_store(own_store) as store:
        kept = repr(store._kept)
        assert "neighbour" not in kept and store._answered == {}


def test_a_failed_answer_keeps_nothing(own_store: str) -> None:
    relapse_meaning(own_store)
    with pytest.raises(ZeroDivisionError):
        with kept_store(own_store) as store:
            store.trials()
            raise ZeroDivisionError("the answer failed")
    assert statements_sent(engine_for(own_store), lambda: relapse_meaning(own_store)) > 1


def test_an_answer_that_changed_a_row_writes_nothing_and_keeps_nothing(own_store: str) -> None:
    with pytest.raises(RuntimeError, match="changed rows"):
        with kept_store(own_store) as store:
            store.find_glossary_term("relapse").meaning = "changed"
    assert relapse_meaning(own_store).startswith("A relapse is also called")


def test_a_store_loaded_before_versions_were_recorded_is_read_afresh_each_time(own_store: str) -> None:
    with engine_for(own_store).begin() as connection:
        connection.execute(text("DROP TABLE knowledge_version"))
    assert relapse_meaning(own_store).startswith("A relapse is also called")
    assert statements_sent(engine_for(own_store), lambda: relapse_meaning(own_store)) > 1


def test_a_missing_embedded_store_is_still_reported_by_the_kept_store(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="has not been built"):
        with kept_store(f"sqlite:///{tmp_path / 'missing.db'}"):
            pass


def test_an_unreachable_database_server_is_tried_once_per_answer_and_reported() -> None:
    """A server that does not answer is not taken for a store without versions and tried again:
    each try may wait the whole connection timeout while the patient waits."""
    url = "postgresql://nobody@127.0.0.1:9/none?connect_timeout=2"
    tries: list[str] = []
    event.listen(engine_for(url), "do_connect", lambda *_args: tries.append(""))
    with pytest.raises(StoreUnavailable):
        with kept_store(url) as store:
            store.trial()
    assert len(tries) == 1
