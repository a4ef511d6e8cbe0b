"""A Rasa NLU component that turns any message describing an emergency into `red_flag`.

It runs last in the pipeline, after the learned intent classifier and the fallback classifier,
and overrides both: whatever the model predicted, and however unsure it was, a red flag wins.
The rules are read from `knowledge/red_flags.yml` (or `$RED_FLAGS_FILE`) when the model loads,
so a missing or broken file stops the server from starting rather than silently switching the
check off.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_RANKING_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from safety.red_flags import RED_FLAGS_FILE, RedFlagChecker

RED_FLAG_INTENT = "red_flag"
NLU_FALLBACK = "nlu_fallback"
RED_FLAG_ENTITY = "red_flag"  # its value is the red flag's key, e.g. "self_harm"
logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class RedFlagDetector(GraphComponent, IntentClassifier):
    """Sets the intent to `red_flag`, with full confidence, when a rule finds a red flag, and adds
    a `red_flag` entity naming which one, so the reply can fit it (self-harm needs other words).

    The model also learns `red_flag`, but its confidence means nothing on text unlike its
    training data (nonsense scored 0.91). So a learned `red_flag` that no rule confirms never
    raises the alarm alone: it goes to the fallback, whose first reply says how to get urgent
    help before asking what was meant."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            # None: the project's file, found when the model loads (not where it was trained).
            "red_flags_file": None,
        }

    def __init__(self, checker: RedFlagChecker) -> None:
        self.checker = checker

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RedFlagDetector:
        path = config.get("red_flags_file") or os.environ.get("RED_FLAGS_FILE") or RED_FLAGS_FILE
        return cls(RedFlagChecker.from_file(Path(path)))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            alarm = self.checker.check(text)
            if alarm is None:
                self._doubt_an_unconfirmed_learned_red_flag(message)
                continue
            logger.info("Red flag %r raised by %r", alarm.flag.key, text[alarm.start : alarm.end])
            verdict = {"name": RED_FLAG_INTENT, "confidence": 1.0}
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != RED_FLAG_INTENT]
            message.set(INTENT, verdict, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [verdict, *ranking], add_to_output=True)
            found = {
                ENTITY_ATTRIBUTE_TYPE: RED_FLAG_ENTITY,
                ENTITY_ATTRIBUTE_VALUE: alarm.flag.key,
                ENTITY_ATTRIBUTE_START: alarm.start,
                ENTITY_ATTRIBUTE_END: alarm.end,
                EXTRACTOR: type(self).__name__,
            }
            message.set(ENTITIES, [*(message.get(ENTITIES) or []), found], add_to_output=True)
        return messages

    def _doubt_an_unconfirmed_learned_red_flag(self, message: Message) -> None:
        predicted = message.get(INTENT) or {}
        if predicted.get("name") != RED_FLAG_INTENT:
            return
        logger.info(
            "Learned red flag (%.2f) not confirmed by a rule: to the fallback", predicted.get("confidence")
        )
        message.set(
            INTENT, {"name": NLU_FALLBACK, "confidence": predicted.get("confidence")}, add_to_output=True
        )
