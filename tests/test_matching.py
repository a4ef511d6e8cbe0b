"""Finding a name in a patient's words gives exactly what comparing every run of words with every
name would give, however the work is cut short."""

from __future__ import annotations

from difflib import SequenceMatcher

import pytest
from sqlalchemy import select

from actions.matching import (
    FUZZY_CUTOFF,
    FUZZY_SCAN_WORDS,
    LONGEST_PHRASE,
    SHORTEST_FUZZY_NAME,
    find_mention,
    normalise,
)
from actions.models import GlossaryTerm, OtherTrial, Treatment
from actions.store import KnowledgeStore, by_name
from tests.test_model import held_out_examples

TYPED = [
    "is alemtuzamab better than rebiff",
    "lemtrda side efects",
    "what about interferon beta one a",
    "on no treatment at all",
    "people already on treatment",
    "the care ms 2 trial",
    "randomized",
    "cd 52",
    "sustained acumulation of disability",
    "tysabri or ocrevus",
    "campath",
    "",
]


def every_pair(text: str, names: dict[str, object]) -> object | None:
    """The plain rule: an exact name, else the longest name inside, else the closest spelling of
    any run of up to four words, by difflib's ratio (first best kept), if close enough."""
    vocabulary = {normalise(name): thing for name, thing in names.items() if normalise(name)}
    wanted = normalise(text)
    if not wanted or not vocabulary:
        return None
    if wanted in vocabulary:
        return vocabulary[wanted]
    for name in sorted(vocabulary, key=len, reverse=True):
        if f" {name} " in f" {wanted} ":
            return vocabulary[name]
    words = wanted.split()[:FUZZY_SCAN_WORDS]
    best_score, best = 0.0, None
    for size in range(1, LONGEST_PHRASE + 1):
        for start in range(len(words) - size + 1):
            phrase_words = words[start : start + size]
            phrase = " ".join(phrase_words)
            for name, thing in vocabulary.items():
                short = {word for word in name.split() if len(word) < SHORTEST_FUZZY_NAME}
                if len(name) < SHORTEST_FUZZY_NAME or not short.issubset(phrase_words):
                    continue
                score = SequenceMatcher(None, phrase, name, autojunk=False).ratio()
                if score > best_score:
                    best_score, best = score, thing
    return best if best_score >= FUZZY_CUTOFF else None


@pytest.fixture(scope="module")
def vocabularies(knowledge_url: str) -> list[dict[str, str]]:
    """Each kind of name the store is searched by, each thing named by its own name."""
    with KnowledgeStore.open(knowledge_url) as store:
        treatments = {
            name: treatment.name
            for name, treatment in by_name(store.session.execute(select(Treatment)).scalars()).items()
        }
        others = {
            alias: trial.name
            for trial in store.session.execute(select(OtherTrial)).scalars()
            for alias in trial.aliases
        }
        terms = {
            name: term.term
            for term in store.session.execute(select(GlossaryTerm)).scalars()
            for name in (term.term, *term.aliases)
        }
    return [treatments, others, terms]  # fmt: skip


def test_every_patient_message_finds_what_every_pair_would(vocabularies) -> None:
    texts = [*TYPED, *(example.get("text") for example in held_out_examples())]
    found = 0
    for names in vocabularies:
        for text in texts:
            expected = every_pair(text, names)
            assert find_mention(text, names) == expected, text
            found += expected is not None
    assert found > 100  # the messages do name things, spelled well and badly


def test_a_near_spelling_is_found_and_a_far_one_is_not() -> None:
    names = {"alemtuzumab": "A", "interferon beta-1a": "I", "no treatment": "N"}
    assert find_mention("was alemtuzamab better", names) == "A"
    assert find_mention("interferone beta 1a", names) == "I"
    assert find_mention("interferon beta 1 a", names) is None  # "1a" is kept as written
    assert find_mention("people on treatment", names) is None  # "on" is not "no"
    assert find_mention("aspirin", names) is None


def test_the_same_names_in_another_order_keep_the_first_best() -> None:
    # Two names equally close to "lemtradx": the first given wins, as with every pair.
    names = {"lemtrada": "first", "lemtradb": "second"}
    assert find_mention("lemtradx", names) == every_pair("lemtradx", names) == "first"
    assert find_mention("lemtradx", dict(reversed(names.items()))) == "second"
