"""Rasa custom actions: work out what was asked, and answer it from the knowledge store.

The conversation contract (intents, entities, topics) is in docs/conversation-design.md.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import (
    NO_KNOWLEDGE,
    STORE_UNAVAILABLE,
    TRIAL_INDEPENDENT,
    all_the_trials,
    compose_answer,
    define_term,
    other_trials_on,
    trials_answered,
)
from actions.database import StoreUnavailable
from actions.fallback import ActionAskToRephrase
from actions.models import Treatment, Trial
from actions.phrasing import capitalised
from actions.scope import ALL_TRIALS, trials_asked
from actions.scope import SLOT as TRIAL_SLOT
from actions.store import KnowledgeStore, read_store
from actions.topics import TERMINAL_CHANNEL

logger = logging.getLogger(__name__)

QUESTION_PREFIX = "ask_"
NOT_TOPICS = {"ask_definition", "ask_capabilities"}
FOLLOW_UP = "inform_treatment"
TRIAL_FOLLOW_UP = "inform_trial"
WHAT_IS_TREATMENT = "what_is_treatment"
TRIAL_OVERVIEW = "trial_overview"


def text_slot(tracker: Tracker, name: str) -> str | None:
    """A slot's value if it is text. A slot filled with anything else (an entity typed as
    `{"treatment": {"x": 1}}`, say) is not trusted: it once broke every later answer."""
    value = tracker.get_slot(name)
    return value if isinstance(value, str) and value else None


def topic_asked(tracker: Tracker) -> str | None:
    """The topic of the latest message, or of the conversation so far for a follow-up.

    `ask_relapse` asks about "relapse". A follow-up such as "and on interferon?" or "and in
    CARE-MS I?" names no topic, so the remembered one is used, unless it names an outcome ("and
    the flare-ups?"); with nothing remembered, it asks what the named treatment is, or what the
    named trial was.
    """
    intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
    if intent.startswith(QUESTION_PREFIX) and intent not in NOT_TOPICS:
        return intent[len(QUESTION_PREFIX) :]
    outcome = next(
        (value for value in tracker.get_latest_entity_values("outcome") if isinstance(value, str)), None
    )
    remembered = outcome or text_slot(tracker, "topic")
    if remembered is None and intent == FOLLOW_UP:
        return WHAT_IS_TREATMENT  # "what about Lemtrada?" as a first question
    if remembered is None and intent == TRIAL_FOLLOW_UP:
        return TRIAL_OVERVIEW  # "what about CARE-MS I?" as a first question
    return remembered


def treatment_asked(store: KnowledgeStore, tracker: Tracker) -> Treatment | None:
    """The treatment named in the latest message (even misspelt), else the one talked about."""
    for value in tracker.get_latest_entity_values("treatment"):
        treatment = store.find_treatment(str(value))
        if treatment is not None:
            return treatment
    text = tracker.latest_message.get("text") or ""
    if not text.startswith("/"):  # a button's payload names an intent, not a treatment
        treatment = store.find_treatment(text)
        if treatment is not None:
            return treatment
    remembered = text_slot(tracker, "treatment")
    return store.find_treatment(remembered) if remembered else None


def other_trial_buttons(store: KnowledgeStore, topic: str, trials: list[Trial]) -> list[dict[str, str]]:
    """Quick replies under an answer given for the default trial: each other trial with something
    on the topic, and all the trials side by side. None when the question named a trial."""
    if trials or topic in TRIAL_INDEPENDENT:
        return []
    others = other_trials_on(store, store.trial(), topic)
    if not others:
        return []
    return [
        *({"title": f"In {trial.name}", "payload": _follow_up(trial.key)} for trial in others),
        {"title": f"{capitalised(all_the_trials(store))} side by side", "payload": _follow_up(ALL_TRIALS)},
    ]


def _follow_up(trial_value: str) -> str:
    return f'/{TRIAL_FOLLOW_UP}{{"{TRIAL_SLOT}": "{trial_value}"}}'


def typed_entity_words(tracker: Tracker, entity: str) -> list[str]:
    """The words the person typed for an entity, before synonyms changed them.

    Synonyms map words whatever the entity: "EDSS" typed as a glossary `term` would become
    the outcome "disability", which is not the word the person asked to have explained.
    """
    text = tracker.latest_message.get("text") or ""
    words = []
    for found in tracker.latest_message.get("entities") or []:
        if found.get("entity") != entity:
            continue
        start, end = found.get("start"), found.get("end")
        typed = text[start:end] if start is not None and end is not None else ""
        words.append(typed or str(found.get("value") or ""))
    return words


class ActionAnswerQuestion(Action):
    """Answers every `ask_<topic>` question and its follow-ups with figures from the store."""

    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        topic = topic_asked(tracker)
        if topic is None:
            await ActionAskToRephrase().run(dispatcher, tracker, domain)
            return []

        def answer(store: KnowledgeStore) -> tuple[list[str] | None, str | None, list[str], list[dict]]:
            treatment = treatment_asked(store, tracker)
            trials = trials_asked(store, tracker)
            text = tracker.latest_message.get("text") or ""
            messages = compose_answer(store, topic, treatment, text, trials)
            remembered = [trial.key for trial in trials_answered(store, topic, trials)]
            buttons = other_trial_buttons(store, topic, trials) if messages else []
            return messages, treatment.name if treatment else None, remembered, buttons

        try:
            messages, treatment_name, trial_keys, buttons = await read_store(answer)
        except StoreUnavailable:
            logger.exception("Could not answer %r from the knowledge store", topic)
            dispatcher.utter_message(response=STORE_UNAVAILABLE)
            return [SlotSet("topic", topic)]

        if messages is None:
            dispatcher.utter_message(text=NO_KNOWLEDGE)
            return [SlotSet("topic", None)]
        if tracker.get_latest_input_channel() == TERMINAL_CHANNEL:
            buttons = []  # the answer names the other trials in words; see topics.offer_topics
        for index, text in enumerate(messages, start=1):
            dispatcher.utter_message(text=text, buttons=buttons if index == len(messages) else None)
        return [
            SlotSet("topic", topic),
            SlotSet("treatment", treatment_name),
            SlotSet(TRIAL_SLOT, trial_keys or None),
        ]


class ActionDefineTerm(Action):
    """Explains a word from the glossary in plain language."""

    def name(self) -> str:
        return "action_define_term"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        words = [*typed_entity_words(tracker, "term"), tracker.latest_message.get("text") or ""]
        try:
            messages = await read_store(lambda store: define_term(store, words))
        except StoreUnavailable:
            logger.exception("Could not look up a glossary word")
            dispatcher.utter_message(response=STORE_UNAVAILABLE)
            return []
        for text in messages:
            dispatcher.utter_message(text=text)
        return []
