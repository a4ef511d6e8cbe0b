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
    NOT_A_CURE,
    STORE_UNAVAILABLE,
    all_the_trials,
    compose_answer,
    define_term,
    no_knowledge,
    other_trials_on,
    trials_answered,
)
from actions.asked import (
    AFTER_THE_TRIAL,
    FACTS,
    RESULTS,
    TRIAL_FOLLOW_UP,
    Asked,
    typed_entity_words,
    what_was_asked,
)
from actions.database import StoreUnavailable
from actions.explain import explain_last_answer
from actions.fallback import ActionAskToRephrase
from actions.long_term import OFFER_IN_WORDS, answers_later, compose_long_term, offers_follow_up
from actions.models import Trial
from actions.phrasing import capitalised
from actions.scope import ALL_TRIALS
from actions.scope import SLOT as TRIAL_SLOT
from actions.store import KnowledgeStore, read_store
from actions.topics import LONG_TERM_INTENT, SAME_IN_EVERY_TRIAL, TERMINAL_CHANNEL, topic_buttons

logger = logging.getLogger(__name__)


def other_trial_buttons(store: KnowledgeStore, topic: str, trials: list[Trial]) -> list[dict[str, str]]:
    """Quick replies under an answer given for the default trial: each other trial with something
    on the topic, and all the trials side by side. None when the question named a trial."""
    if trials or topic in SAME_IN_EVERY_TRIAL:
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


class ActionAnswerQuestion(Action):
    """Answers every `ask_<topic>` question and its follow-ups with figures from the store."""

    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        def answer(
            store: KnowledgeStore,
        ) -> tuple[Asked, list[str] | None, list[str], list[dict], bool, bool]:
            asked = what_was_asked(store, tracker)
            later = [topic for topic in asked.topics if asked.after_the_trial and answers_later(topic)]
            messages: list[str] | None = None
            if later:
                messages = compose_long_term(
                    store, asked.trials, asked.treatment, later, asked.text, asked.wants
                )
            for topic in asked.topics:
                said = answer_topic(store, asked, topic) if topic not in later else None
                if said is not None:
                    # Two answers in one reply say the same note (the other trial) once.
                    messages = list(dict.fromkeys([*(messages or []), *said]))
            trials = trials_answered(store, asked.topic or "", asked.trials)
            buttons = other_trial_buttons(store, asked.topics[-1], asked.trials) if messages else []
            offer = bool(messages) and not later and offers_follow_up(store, trials, asked.topics)
            if offer:
                buttons = [*topic_buttons([LONG_TERM_INTENT]), *buttons]
            return asked, messages, [trial.key for trial in trials], buttons, bool(later), offer

        try:
            asked, messages, trial_keys, buttons, after_the_trial, offer = await read_store(answer)
        except StoreUnavailable:
            logger.exception("Could not answer from the knowledge store")
            dispatcher.utter_message(response=STORE_UNAVAILABLE)
            return []

        if not asked.topics:
            await ActionAskToRephrase().run(dispatcher, tracker, domain)
            return []
        if messages is None:
            dispatcher.utter_message(text=no_knowledge(asked.topic))
            return [SlotSet("topic", None)]
        if tracker.get_latest_input_channel() == TERMINAL_CHANNEL:
            # The answer names the other trials in words (see topics.offer_topics); so too the
            # years after the trial.
            if offer:
                messages = [*messages, OFFER_IN_WORDS]
            buttons = []
        for index, text in enumerate(messages, start=1):
            dispatcher.utter_message(text=text, buttons=buttons if index == len(messages) else None)
        return [
            SlotSet("topic", asked.topics[-1]),
            SlotSet("treatment", asked.treatment.name if asked.treatment else None),
            SlotSet(TRIAL_SLOT, trial_keys or None),
            SlotSet(AFTER_THE_TRIAL, after_the_trial),
        ]


def answer_topic(store: KnowledgeStore, asked: Asked, topic: str) -> list[str] | None:
    """One topic of what was asked: its facts, or the last answer's figures explained again."""
    if asked.wants != FACTS:
        trial = asked.trials[0] if asked.trials else store.trial()
        explained = explain_last_answer(store, trial, topic, asked.treatment, asked.wants)
        if explained is not None:
            return explained
    messages = compose_answer(store, topic, asked.treatment, asked.text, asked.trials)
    if messages and asked.about_a_cure and topic == RESULTS:
        return [NOT_A_CURE, *messages]
    return messages


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
