"""A Rasa NLU component that turns any message describing an emergency into `red_flag`, and
any message clearly not in English into `not_english`.

It runs last in the pipeline, after the learned intent classifier and the fallback classifier,
and overrides both: whatever the model predicted, and however unsure it was, a red flag wins,
and then a message in another language (the model, trained on English, can only guess at it).
The rules are read from `knowledge/red_flags.yml` (or `$RED_FLAGS_FILE`) and
`knowledge/languages.yml` (or `$LANGUAGES_FILE`) when the model loads, so a missing or broken
file stops the server from starting rather than silently switching a check off.
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

from safety.language import LANGUAGES_FILE, LanguageCheck
from safety.red_flags import Alarm, RedFlagChecker, red_flags_file, urgent_reply_kind

RED_FLAG_INTENT = "red_flag"
NOT_ENGLISH_INTENT = "not_english"
RULE_ONLY_INTENTS = (RED_FLAG_INTENT, NOT_ENGLISH_INTENT)  # the model learns them, only a rule sets them
NLU_FALLBACK = "nlu_fallback"
RED_FLAG_ENTITY = "red_flag"  # one per flag raised; its value is the flag's key, e.g. "self_harm"
# Added when a message raises several flags: which urgent reply fits them all (its value is
# `urgent_reply_kind`'s, e.g. "self_harm_and_physical"). The `red_flag` slot is filled from it
# first, then from the one `red_flag` entity, so the slot always holds `urgent_reply_kind`.
URGENT_REPLY_ENTITY = "urgent_reply"
logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class RedFlagDetector(GraphComponent, IntentClassifier):
    """Sets the intent to `red_flag`, with full confidence, when a rule finds a red flag, and adds
    a `red_flag` entity for each flag raised, so the reply can fit them (self-harm needs other
    words, and comes first when a physical emergency comes with it). Otherwise sets the intent
    to `not_english` when the message is clearly in another language.

    The model also learns `red_flag` and `not_english`, but its confidence means nothing on
    text unlike its training data (nonsense scored 0.91 as `red_flag`). So a learned one that no
    rule confirms never decides alone: it goes to the fallback, whose first reply says how to
    get urgent help before asking what was meant."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            # None: the project's files, found when the model loads (not where it was trained).
            "red_flags_file": None,
            "languages_file": None,
        }

    def __init__(self, checker: RedFlagChecker, languages: LanguageCheck | None = None) -> None:
        self.checker = checker
        self.languages = languages or LanguageCheck.from_file()

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RedFlagDetector:
        red_flags = config.get("red_flags_file") or red_flags_file()
        languages = config.get("languages_file") or os.environ.get("LANGUAGES_FILE") or LANGUAGES_FILE
        return cls(RedFlagChecker.from_file(Path(red_flags)), LanguageCheck.from_file(Path(languages)))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            alarms = self.checker.check_all(text)
            if alarms:
                # The flags' keys only: what the patient typed is never logged.
                logger.info("Red flags raised: %s", ", ".join(alarm.flag.key for alarm in alarms))
                self._decide(message, RED_FLAG_INTENT)
                self._add_entities(message, self._entities(alarms))
            elif (language := self.languages.other_language(text)) is not None:
                logger.info("Message not in English (%s)", language)
                self._decide(message, NOT_ENGLISH_INTENT)
            else:
                self._doubt_an_unconfirmed_learned_rule_intent(message)
        return messages

    def _entities(self, alarms: list[Alarm]) -> list[Dict[str, Any]]:
        found = [self._entity(RED_FLAG_ENTITY, alarm.flag.key, alarm.start, alarm.end) for alarm in alarms]
        if len(alarms) > 1:
            start, end = min(a.start for a in alarms), max(a.end for a in alarms)
            found.append(self._entity(URGENT_REPLY_ENTITY, urgent_reply_kind(alarms), start, end))
        return found

    def _entity(self, entity: str, value: str | None, start: int, end: int) -> Dict[str, Any]:
        return {
            ENTITY_ATTRIBUTE_TYPE: entity,
            ENTITY_ATTRIBUTE_VALUE: value,
            ENTITY_ATTRIBUTE_START: start,
            ENTITY_ATTRIBUTE_END: end,
            EXTRACTOR: type(self).__name__,
        }

    @staticmethod
    def _decide(message: Message, intent: str) -> None:
        verdict = {"name": intent, "confidence": 1.0}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != intent]
        message.set(INTENT, verdict, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [verdict, *ranking], add_to_output=True)

    @staticmethod
    def _add_entities(message: Message, entities: list[Dict[str, Any]]) -> None:
        message.set(ENTITIES, [*(message.get(ENTITIES) or []), *entities], add_to_output=True)

    def _doubt_an_unconfirmed_learned_rule_intent(self, message: Message) -> None:
        predicted = message.get(INTENT) or {}
        if predicted.get("name") not in RULE_ONLY_INTENTS:
            return
        logger.info(
            "Learned %s (%.2f) not confirmed by a rule: to the fallback",
            predicted.get("name"),
            predicted.get("confidence"),
        )
        message.set(
            INTENT, {"name": NLU_FALLBACK, "confidence": predicted.get("confidence")}, add_to_output=True
        )
