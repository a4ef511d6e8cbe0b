"""Short first: an answer about a medicine's benefits fits on a phone screen, in at most two
messages (the figures; then a short safety note and the source), with everything it leaves out
one tap away: how sure the result is, the risks in full, the other trial, the sources. In the
terminal, the same choices are said in words.

The word counts of every benefit answer are written to results/answer-lengths.json.
"""

from __future__ import annotations

import json
import statistics

import pytest

from actions.actions import ActionAnswerQuestion
from actions.answers import TALK_TO_YOUR_TEAM, about_benefits, compose_answer
from actions.knowledge_files import KnowledgeError, read_knowledge
from actions.phrasing import review_line
from actions.store import KnowledgeStore
from actions.topics import TERMINAL_CHANNEL
from tests.helpers import PROJECT_ROOT, run_action, source_line, texts, tracker_from

MOST_MESSAGES = 2
MOST_WORDS = 135  # "about 120": the longest now is a result that could be due to chance
MEDIAN_WORDS = 125
# Beyond those: the line saying when the facts were last checked ("Checked December 2026. No
# doctor has reviewed it yet."), which every answer must carry; its words are allowed, no more.
LENGTHS_FILE = PROJECT_ROOT / "results" / "answer-lengths.json"
BENEFIT_INTENTS = ["ask_relapse", "ask_relapse_free", "ask_relapse_rate", "ask_disability"]


def words(messages: list[str]) -> int:
    return sum(len(message.split()) for message in messages)


@pytest.fixture(scope="module")
def benefit_answers(knowledge_url: str) -> list[tuple[str, list[str]]]:
    """Every answer about one benefit, for each trial (and none named) and each medicine in it."""
    found = []
    with KnowledgeStore.open(knowledge_url) as store:
        trials = store.trials()
        for trial in trials:
            for topic in sorted({e.topic for e in trial.endpoints if e.category == "efficacy"}):
                for treatment in [None, *{arm.treatment for arm in trial.arms}]:
                    for scope in ([], [trial]) if trial is store.trial() else ([trial],):
                        said = compose_answer(store, topic, treatment, trials=scope) or []
                        where = f"{topic} / {treatment.key if treatment else 'any'} / {trial.key}"
                        found.append((where, said))
    return found


def review_words(knowledge_url: str) -> int:
    """The most words the review line can take, for any file's review in the store."""
    with KnowledgeStore.open(knowledge_url) as store:
        return max(len(review_line([review]).split()) for review in store.reviews())


def test_every_benefit_answer_is_at_most_two_messages_and_about_120_words(
    benefit_answers: list[tuple[str, list[str]]], knowledge_url: str
) -> None:
    extra = review_words(knowledge_url)
    assert 0 < extra <= 10
    lengths = [words(said) - extra for _, said in benefit_answers]
    LENGTHS_FILE.parent.mkdir(parents=True, exist_ok=True)
    LENGTHS_FILE.write_text(
        json.dumps(
            {
                "answers": len(lengths),
                "median_words": statistics.median(lengths),
                "most_words": max(lengths),
                "most_messages": max(len(said) for _, said in benefit_answers),
            }
        )
    )
    too_long = [
        (where, words(said), len(said)) for where, said in benefit_answers if words(said) - extra > MOST_WORDS
    ]
    too_many = [(where, len(said)) for where, said in benefit_answers if len(said) > MOST_MESSAGES]
    assert too_long == [] and too_many == []
    assert statistics.median(lengths) <= MEDIAN_WORDS


def test_a_short_answer_has_both_groups_figures_the_safety_note_and_the_source(
    benefit_answers: list[tuple[str, list[str]]],
) -> None:
    for where, said in benefit_answers:
        figures, note = said
        assert figures.count(" in 100 (") == 2 or figures.count(" it was ") == 1, where
        assert note.startswith("Safety note:"), where
        for risk in ("reaction to the drip", "infection", "autoimmune", "blood and urine tests every month"):
            assert risk in note, (where, risk)
        assert source_line(said), where


def test_a_short_answer_gives_no_interval_and_no_relative_figure(
    benefit_answers: list[tuple[str, list[str]]],
) -> None:
    said = " ".join(text for _, answer in benefit_answers for text in answer)
    for detail in ("confidence interval", "hazard ratio", "rate ratio", "relative figure", "% lower"):
        assert detail not in said


def ask(intent: str, text: str, channel: str = "socketio", slots: dict | None = None) -> list[dict]:
    return run_action(ActionAnswerQuestion(), tracker_from(intent, text, slots=slots, channel=channel))[0]


@pytest.mark.parametrize("intent", BENEFIT_INTENTS)
def test_under_a_short_answer_are_how_sure_the_risks_in_full_and_the_sources(use_store, intent: str) -> None:
    sent = ask(intent, "")
    titles = [button["title"] for button in sent[-1]["buttons"]]
    assert titles[:2] == ["How sure is this?", "The risks in full"] and titles[-1] == "Sources"
    assert all(not message.get("buttons") for message in sent[:-1])


def test_in_the_terminal_the_same_choices_end_the_answer_in_words(use_store) -> None:
    sent = ask("ask_relapse", "how many relapsed?", channel=TERMINAL_CHANNEL)
    said = texts(sent)
    assert len(said) == MOST_MESSAGES and not any(message.get("buttons") for message in sent)
    choices, asked_for_feedback = said[-1].rsplit("\n", 1)
    assert choices.endswith(
        'You can also ask "how sure is this?", "what are the risks in full?", "and in CARE-MS I?", '
        '"in both trials?", "does it last?" or "where do the figures come from?".'
    )
    assert asked_for_feedback == 'Was this helpful? You can type "helpful" or "not helpful".'


def test_an_answer_about_a_risk_offers_no_how_sure(use_store) -> None:
    sent = ask("ask_infections", "do people get infections?")
    titles = [button["title"] for message in sent for button in message.get("buttons") or []]
    assert "How sure is this?" not in titles and "The risks in full" not in titles


def test_how_sure_is_this_gives_the_counts_the_interval_and_chance_in_words(use_store) -> None:
    said = "\n".join(texts(ask("ask_chance", "how sure is this?", slots={"topic": "disability"})))
    assert "That is 13%, or 54 of 426 people." in said
    assert "hazard ratio 0.58, 95% confidence interval 0.38 to 0.87" in said
    assert "Kaplan-Meier estimate" in said and "This 42% improvement is a relative figure." in said
    assert "unlikely to be due to chance (p=0.0084)" in said
    assert "went down by 0.17 points" in said, "the other measure of disability, left out of the short answer"


def test_the_risks_in_full_say_everything_the_short_note_leaves_out(store: KnowledgeStore) -> None:
    trial = store.trial()
    risks = "\n".join(compose_answer(store, "side_effects") or [])
    for endpoint in store.caveat_endpoints(trial):
        assert endpoint.outcome_phrase in risks
        for result in endpoint.results:
            if result.value is not None:
                assert f"({result.value:g}%)" in risks, (endpoint.key, result.arm.name)
    for finding in store.findings(trial, in_caveat=True):
        assert finding.statement in risks
    for guidance in store.guidance(trial.arms[-1].treatment, in_caveat=True) or []:
        assert guidance.text in risks
    assert TALK_TO_YOUR_TEAM in risks


def test_only_benefit_answers_are_short_first(store: KnowledgeStore) -> None:
    trials = [store.trial()]
    assert about_benefits(store, trials, ["relapse"]) and about_benefits(store, trials, ["results"])
    assert not about_benefits(store, trials, ["infections"]) and not about_benefits(
        store, trials, ["allocation"]
    )


def test_a_short_note_on_a_row_outside_the_safety_note_is_refused(knowledge_copy) -> None:
    path = knowledge_copy / "guidance.yml"
    path.write_text(
        path.read_text().replace(
            "    topic: monitoring\n    text: >-\n      Thyroid",
            "    topic: monitoring\n    short_note: Thyroid tests too.\n    text: >-\n      Thyroid",
        )
    )
    with pytest.raises(KnowledgeError) as refused:
        read_knowledge(knowledge_copy)
    assert "guidance 'thyroid-tests': 'short_note' is only said in the safety note" in str(refused.value)


@pytest.mark.parametrize(
    "intent, text, detail",
    [
        ("ask_disability", "what was the hazard ratio for disability getting worse?", "hazard ratio 0.58"),
        ("ask_relapse_rate", "was the drop in the relapse rate statistically significant?", "p<0.0001"),
        ("ask_relapse_rate", "whats the confidence interval on the relapse rate", "0.39 to 0.65"),
        ("ask_disability", "what does the 42% lower mean for disability", "This 42% improvement"),
        ("ask_disability", "p valeu for disability?", "p=0.0084"),
        ("ask_disability", "kaplan meier disability numbers", "12.7%"),
        ("ask_disability", "is the 42% improvement relative or absolute?", "is a relative figure"),
        ("ask_relapse_rate", "by what percent did lemtrada lower the relapse rate?", "0.39 to 0.65"),
        ("ask_relapse_rate", "how much lower was the relapse rate on lemtrada", "0.39 to 0.65"),
    ],
)
def test_a_question_that_names_a_statistic_gets_it_not_the_short_answer(
    use_store, intent: str, text: str, detail: str
) -> None:
    said = "\n".join(texts(ask(intent, text)))
    assert detail in said


def test_a_question_that_names_a_measure_gets_that_measure_in_the_short_answer(use_store) -> None:
    score = texts(ask("ask_disability", "did the EDSS disability scores change on lemtrada?"))
    assert "went down by 0.17 points" in score[0] and "went up by 0.24 points" in score[0]
    worse = texts(ask("ask_disability", "did disability get worse on lemtrada?"))
    assert "about 13 in 100 (13%)" in worse[0] and "points" not in worse[0]


def test_how_sure_after_trials_side_by_side_says_it_of_each_trial_with_one_safety_note(use_store) -> None:
    slots = {"topic": "disability", "trial": ["care-ms-ii", "care-ms-i"]}
    said = texts(ask("ask_chance", "how sure is this?", slots=slots))
    joined = "\n".join(said)
    assert "hazard ratio 0.58, 95% confidence interval 0.38 to 0.87" in joined
    assert "hazard ratio 0.70, 95% confidence interval 0.40 to 1.23" in joined
    assert sum(text.startswith("Safety note:") for text in said) == 1
    assert "Coles" in source_line(said) and "Cohen" in source_line(said)
