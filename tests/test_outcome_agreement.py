"""The outcome agreement (nlu/agreement.py): when the classifier is unsure, the outcome the
message names decides between its best guesses; it never overrides a request for advice, an
emergency or a confident guess, and it runs before the fallback decides."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu.agreement import OutcomeAgreement
from tests.helpers import PROJECT_ROOT

PIPELINE = {
    step["name"]: step for step in yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())["pipeline"]
}
FALLBACK_THRESHOLD = PIPELINE["FallbackClassifier"]["threshold"]
SETTINGS = {
    key: PIPELINE["nlu.agreement.OutcomeAgreement"].get(key, value)
    for key, value in OutcomeAgreement.get_default_config().items()
}


def understood(text: str, guesses: dict[str, float], outcomes: list[str]) -> dict[str, Any]:
    """The intent the component, as config.yml sets it, leaves on a message the classifier ranked
    as `guesses`, with `outcomes` named."""
    ranking = [{"name": name, "confidence": confidence} for name, confidence in guesses.items()]
    message = Message(
        data={
            TEXT: text,
            INTENT: ranking[0],
            INTENT_RANKING_KEY: ranking,
            ENTITIES: [{"entity": "outcome", "value": outcome, "start": 0, "end": 1} for outcome in outcomes],
        }
    )
    OutcomeAgreement(**SETTINGS).process([message])
    return message.get(INTENT)


def test_an_unsure_guess_confirmed_by_the_named_outcome_is_answered() -> None:
    intent = understood(
        "diagnosd 2 months ago, no meds yet. how meny people like me relapsed on rebif",
        {"ask_relapse": 0.38, "ask_relapse_free": 0.34, "ask_participants": 0.1},
        ["relapse"],
    )
    assert intent["name"] == "ask_relapse"
    assert intent["confidence"] >= FALLBACK_THRESHOLD and intent["confidence"] - 0.34 > 0.1


def test_the_named_outcome_decides_between_two_close_guesses() -> None:
    intent = understood(
        "How many people have relapse with Rebif in the study?",
        {"ask_participants": 0.38, "ask_relapse": 0.37},
        ["relapse"],
    )
    assert intent["name"] == "ask_relapse"


@pytest.mark.parametrize(
    "guesses",
    [
        {"ask_personal_advice": 0.35, "ask_relapse": 0.33},  # "I had a relapse, should I switch?"
        {"red_flag": 0.3, "ask_relapse": 0.29},
        {"ask_chance": 0.45, "ask_relapse": 0.2},  # "could the relapse difference be chance?"
        {"ask_definition": 0.4, "ask_relapse_rate": 0.35},  # "what does relapse rate mean?"
        {"ask_long_term": 0.4, "ask_relapse": 0.38},  # "fewer relapses in the years after?"
        {"ask_explain": 0.3, "ask_relapse": 0.28},  # "what does that relapse figure mean?"
        {"out_of_scope": 0.3, "ask_relapse": 0.28},
        {"ask_definition": 0.4, "ask_relapse_rate": 0.35},  # "what does relapse rate mean?"
        {"ask_long_term": 0.4, "ask_relapse": 0.38},  # "fewer relapses in the years after?"
        {"ask_explain": 0.3, "ask_relapse": 0.28},  # "what does that relapse figure mean?"
        {"out_of_scope": 0.3, "ask_relapse": 0.28},
    ],
)
def test_only_a_question_for_figures_or_a_broad_one_is_ever_set_aside(
    guesses: dict[str, float],
) -> None:
    assert understood("...", guesses, ["relapse"])["name"] == next(iter(guesses))


def test_a_confident_guess_is_left_alone() -> None:
    guesses = {"ask_side_effects": 0.9, "ask_infections": 0.05}
    assert understood("what are the side effects, like infections?", guesses, ["infections"]) == {
        "name": "ask_side_effects",
        "confidence": 0.9,
    }


@pytest.mark.parametrize(
    "outcomes, guesses",
    [
        ([], {"ask_relapse": 0.3, "ask_disability": 0.29}),  # no outcome named
        (["relapse", "infections"], {"ask_participants": 0.3, "ask_trial_overview": 0.29}),  # neither's
        (
            ["disability"],
            {
                "ask_relapse": 0.3,
                "ask_relapse_free": 0.29,
                "ask_results": 0.1,
                "ask_trial_overview": 0.08,
                "ask_participants": 0.06,
                "ask_disability": 0.05,
            },
        ),  # not among the top guesses
    ],
)
def test_without_one_outcome_among_the_best_guesses_nothing_changes(
    outcomes: list[str], guesses: dict[str, float]
) -> None:
    assert understood("...", guesses, outcomes)["name"] == next(iter(guesses))


def test_the_agreement_runs_after_the_entities_and_before_the_fallback_decides() -> None:
    pipeline = [
        step["name"] for step in yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())["pipeline"]
    ]
    agreement = pipeline.index("nlu.agreement.OutcomeAgreement")
    assert pipeline.index("EntitySynonymMapper") < agreement < pipeline.index("FallbackClassifier")


def test_a_guess_further_down_is_raised_when_only_broad_or_figure_questions_rank_above_it() -> None:
    guesses = {"ask_relapse": 0.29, "inform_trial": 0.28, "ask_participants": 0.11, "ask_relapse_rate": 0.1}
    assert understood("what was the annualised relapse rate?", guesses, ["relapse_rate"])["name"] == (
        "ask_relapse_rate"
    )


def test_in_a_long_message_only_the_outcomes_of_its_question_count() -> None:
    """The story's relapse is not the question: "Is the thyroid problem common?" is."""
    text = "She had a relapse last year. Is the thyroid problem common?"
    message_outcomes = [
        {"entity": "outcome", "value": "relapse", "start": text.index("relapse"), "end": 0},
        {"entity": "outcome", "value": "autoimmunity", "start": text.index("thyroid"), "end": 0},
    ]
    ranking = [{"name": "ask_relapse", "confidence": 0.3}, {"name": "ask_autoimmunity", "confidence": 0.28}]
    message = Message(
        data={TEXT: text, INTENT: ranking[0], INTENT_RANKING_KEY: ranking, ENTITIES: message_outcomes}
    )
    message.set("question", {"start": text.index("Is the"), "end": len(text)})
    OutcomeAgreement(**SETTINGS).process([message])
    assert message.get(INTENT)["name"] == "ask_autoimmunity"


def test_a_close_second_guess_counts_as_unsure_and_the_named_outcome_decides() -> None:
    """Over the 0.5 that marks a weak guess, but within the fallback's 0.1 of the next one:
    "did lemtrada do anything for ppl like me with disability"."""
    guesses = {"ask_results": 0.52, "ask_disability": 0.44}
    assert understood("...", guesses, ["disability"])["name"] == "ask_disability"


def test_several_outcomes_of_one_kind_ask_the_broad_question() -> None:
    """ "Was lemtrada better at stopping relapses and disability?" asks for the results."""
    guesses = {"ask_disability": 0.34, "ask_results": 0.32}
    assert understood("...", guesses, ["relapse", "disability"])["name"] == "ask_results"


def test_several_outcomes_of_different_kinds_ask_the_best_ranked_of_their_own_questions() -> None:
    """The assistant then answers every outcome named, in the order written."""
    guesses = {"inform_trial": 0.4, "ask_infections": 0.35, "ask_relapse": 0.2}
    assert understood("...", guesses, ["relapse", "infections"])["name"] == "ask_infections"


def test_a_faint_guess_ranked_above_is_no_rival() -> None:
    """A long message spreads a little confidence over many intents: a request about the years
    after the trial at 0.08 does not stop the agreement, one at 0.3 does."""
    faint = {"inform_trial": 0.33, "ask_results": 0.31, "ask_long_term": 0.08, "ask_relapse": 0.07}
    assert understood("...", faint, ["relapse"])["name"] == "ask_relapse"
    rival = {"inform_trial": 0.33, "ask_long_term": 0.3, "ask_relapse": 0.07}
    assert understood("...", rival, ["relapse"])["name"] == "inform_trial"


def test_a_glossary_word_named_agrees_with_the_question_of_what_it_means() -> None:
    ranking = [{"name": "ask_definition", "confidence": 0.46}, {"name": "ask_chance", "confidence": 0.4}]
    message = Message(
        data={
            TEXT: "explain confidence interval please",
            INTENT: ranking[0],
            INTENT_RANKING_KEY: ranking,
            ENTITIES: [{"entity": "term", "value": "confidence interval", "start": 8, "end": 27}],
        }
    )
    OutcomeAgreement(**SETTINGS).process([message])
    intent = message.get(INTENT)
    assert intent["name"] == "ask_definition" and intent["confidence"] - 0.4 > 0.1
