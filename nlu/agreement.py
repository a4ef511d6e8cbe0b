"""A Rasa NLU component that trusts the intent classifier's guess when the message's own words
confirm it: the question names an outcome ("relapsed", "disability") and the classifier's best
guesses include the question about that outcome.

Patients' long, misspelt or unusual messages spread the classifier's confidence thin: "diagnosd
2 months ago, no meds yet. how meny people like me relapsed on rebif" scored `ask_relapse` 0.38,
just under the fallback threshold, so the person was asked "did you mean...?" although the
entity extractor had found `outcome: relapse` in the same words. Two signals that agree are
stronger than either alone, so this component, placed before the FallbackClassifier, raises the
agreed intent above the others by `lead`.

A message that names a glossary word and no outcome ("explain confidence interval please")
agrees in the same way with the question of what the word means.

A message that names several outcomes of one kind ("was lemtrada better at stopping relapses
and disability?") asks the broad question that answers them all (`broad`: the results, or the
side effects), when the classifier ranked that among its best guesses.

A guess that ranks above the agreed one but below `contender` (a long message spreads a little
confidence over many intents) is not a rival: it neither blocks the agreement nor is kept first.

The classifier is unsure when its best guess is under `unsure_below`, or when its second guess
is within `close` of it (where the fallback would ask "did you mean...?").

It does nothing when the classifier was sure anyway (its best guess at `unsure_below` or more:
"what are the side effects, like infections?" stays a question about the side effects, whose
answer the outcome joins), when the words name no outcome or several, when the outcome's
question is not among the classifier's `top` guesses, or when a guess other than a question for
figures or a broad one ranks above it (a request for personal advice, an emergency, a word's
meaning, the years after the trial, the figures just given, something out of scope): "I had a
relapse, should I switch?" stays a request for advice. The red-flag check still runs last and
overrides everything.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message

from nlu.intent_classifier import QUESTION

OUTCOME_ENTITY = "outcome"
# A word from the glossary, named with no outcome, agrees with the question of what it means.
TERM_ENTITY = "term"
DEFINITION = "ask_definition"
QUESTION_PREFIX = "ask_"  # the question about outcome "relapse" is the intent "ask_relapse"
# The only guesses the agreement may set aside: questions for figures, and broad or bare
# messages ("what did the trial find?", "in CARE-MS I?"). Every other guess (a request for advice,
# an emergency, a word's meaning, the years after the trial, a question about the figures just
# given, anything out of scope) has its own, safer reply and is never overridden.
MAY_SET_ASIDE = frozenset(
    {
        "ask_relapse",
        "ask_relapse_free",
        "ask_relapse_rate",
        "ask_disability",
        "ask_infusion_reactions",
        "ask_infections",
        "ask_autoimmunity",
        "ask_results",
        "ask_side_effects",
        "ask_trial_overview",
        "ask_participants",
        "ask_primary_endpoints",
        "inform_trial",
        "inform_treatment",
    }
)
logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class OutcomeAgreement(GraphComponent, IntentClassifier):
    """Raises the question about the one outcome a message names, when the classifier ranked it
    among its best guesses."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"top": 2, "lead": 0.2, "unsure_below": 0.5, "close": 0.0, "contender": 0.0, "broad": {}}

    def __init__(
        self,
        top: int,
        lead: float,
        unsure_below: float,
        close: float = 0.0,
        contender: float = 0.0,
        broad: Dict[str, List[str]] | None = None,
    ) -> None:
        self.top = top
        self.lead = lead
        self.unsure_below = unsure_below
        self.close = close
        self.contender = contender
        self.broad = {intent: frozenset(outcomes) for intent, outcomes in (broad or {}).items()}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OutcomeAgreement:
        return cls(
            int(config["top"]),
            float(config["lead"]),
            float(config["unsure_below"]),
            float(config.get("close", 0.0)),
            float(config.get("contender", 0.0)),
            dict(config.get("broad") or {}),
        )

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._agree(message)
        return messages

    def _agree(self, message: Message) -> None:
        ranking = sorted(
            message.get(INTENT_RANKING_KEY) or [],
            key=lambda r: r.get(PREDICTED_CONFIDENCE_KEY) or 0.0,
            reverse=True,
        )
        names = [r.get(INTENT_NAME_KEY) for r in ranking]
        if not ranking or not self._unsure([r.get(PREDICTED_CONFIDENCE_KEY) or 0.0 for r in ranking[:2]]):
            return
        outcomes = _outcomes_asked(message)
        wanted = self._wanted(outcomes, names[: self.top])
        if wanted is None and not outcomes and _names_a_term(message) and DEFINITION in names[: self.top]:
            wanted = DEFINITION  # "explain confidence interval please": the word names the question
        if wanted is None or any(
            r.get(INTENT_NAME_KEY) not in MAY_SET_ASIDE
            and (r.get(PREDICTED_CONFIDENCE_KEY) or 0.0) >= self.contender
            for r in ranking[: names.index(wanted)]
        ):
            return
        agreed = next(r for r in ranking if r.get(INTENT_NAME_KEY) == wanted)
        others = [r for r in ranking if r is not agreed]
        runner_up = max((r.get(PREDICTED_CONFIDENCE_KEY) or 0.0 for r in others), default=0.0)
        confidence = min(1.0, max(agreed.get(PREDICTED_CONFIDENCE_KEY) or 0.0, runner_up) + self.lead)
        verdict = {INTENT_NAME_KEY: wanted, PREDICTED_CONFIDENCE_KEY: confidence}
        # The intent's name only: what the patient typed is never logged.
        logger.debug("The words confirm %s: confidence raised to %.2f", wanted, confidence)
        message.set(INTENT, verdict, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [verdict, *others], add_to_output=True)

    def _unsure(self, best: List[float]) -> bool:
        """Whether the classifier's best guess is weak, or has a close second."""
        return best[0] < self.unsure_below or (len(best) > 1 and best[0] - best[1] < self.close)

    def _wanted(self, outcomes: set[str], best_guesses: List[str]) -> str | None:
        """The question among the best guesses that the named outcomes agree on: for several
        outcomes of one kind, the broad question of that kind; else the best-ranked question
        about one of them (the assistant answers every outcome the message names)."""
        if len(outcomes) > 1:
            broad = [i for i, kind in self.broad.items() if outcomes <= kind and i in best_guesses]
            if broad:
                return broad[0]
        own = {f"{QUESTION_PREFIX}{outcome}" for outcome in outcomes}
        return next((guess for guess in best_guesses if guess in own), None)


def _names_a_term(message: Message) -> bool:
    return any(entity.get(ENTITY_ATTRIBUTE_TYPE) == TERM_ENTITY for entity in message.get(ENTITIES) or [])


def _outcomes_asked(message: Message) -> set[str]:
    """The outcomes the message names; in a long message whose question the classifier found
    (`QUESTION`), those in the question when it names any ("she had a relapse last year. Is
    the thyroid problem common?" asks about autoimmunity)."""
    named = [
        entity
        for entity in message.get(ENTITIES) or []
        if entity.get(ENTITY_ATTRIBUTE_TYPE) == OUTCOME_ENTITY
    ]
    span = message.get(QUESTION)
    if isinstance(span, dict):
        start, end = span.get("start", 0), span.get("end", 0)
        inside = [e for e in named if isinstance(e.get("start"), int) and start <= e["start"] < end]
        named = inside or named
    return {entity.get(ENTITY_ATTRIBUTE_VALUE) for entity in named}
