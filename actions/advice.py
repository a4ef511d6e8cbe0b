"""Personal medical advice: decline kindly, give the trial facts that bear on the question,
and point to the person's own MS team."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import metrics
from actions.answers import compose_answer
from actions.asked import what_was_asked
from actions.database import StoreUnavailable
from actions.store import KnowledgeStore, read_store
from actions.topics import TALK_TO_A_PERSON

logger = logging.getLogger(__name__)

CANNOT_DECIDE = (
    "I can't decide that for you, and I can't give personal medical advice. Your neurologist or "
    "MS nurse knows your health, and they can help you decide."
)
FACTS_FOLLOW = "Here is what the trial found, which you could talk about with them:"
NO_FACTS = "The trial results I have don't answer this, so please ask your MS team."
DO_NOT_CHANGE = (
    "Please don't start, stop or change a medicine without talking to your MS team first. "
    "And don't skip a test."
)

# Which trial facts bear on a request for advice; None: the trial results say nothing on it.
# The first pattern that matches wins; a request that matches none gets the main results.
ADVICE_TOPICS: list[tuple[re.Pattern, str | None]] = [
    (re.compile(r"pregnan|baby|babies|breast\s*feed|conceiv|fertil|contracept"), None),
    (re.compile(r"alcohol|drink|vaccin|diet|travel|surgery|operation"), None),
    (re.compile(r"test|monitor|check|scan|bloods\b"), "monitoring"),
    # A dose is for the person's own team to set: the trial's schedule is not an answer to it.
    (re.compile(r"dose|how much|mg\b|milligram|how often|schedule"), None),
    (re.compile(r"side\s*effect|safe|risk|infection"), "infections"),
]
MAIN_RESULTS_TOPIC = "relapse_rate"


def advice_topic(text: str) -> str | None:
    lowered = text.lower()
    for pattern, topic in ADVICE_TOPICS:
        if pattern.search(lowered):
            return topic
    return MAIN_RESULTS_TOPIC


class ActionPersonalAdvice(Action):
    """Answers "should I take it?" and the like without deciding for the person."""

    def name(self) -> str:
        return "action_personal_advice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(text=CANNOT_DECIDE)
        metrics.advice_refused()
        text = tracker.latest_message.get("text") or ""
        topic = advice_topic(text)
        facts: list[str] | None = None
        if topic is not None:
            try:

                def facts_on(store: KnowledgeStore) -> list[str] | None:
                    asked = what_was_asked(store, tracker)
                    return compose_answer(store, topic, asked.treatment, asked.text, asked.trials)

                facts = await read_store(facts_on)
            except StoreUnavailable:
                logger.exception("Could not look up facts for a request for advice")
        if facts:
            dispatcher.utter_message(text=FACTS_FOLLOW)
            for text in facts:
                dispatcher.utter_message(text=text)
        else:
            dispatcher.utter_message(text=NO_FACTS)
        dispatcher.utter_message(text=DO_NOT_CHANGE)
        dispatcher.utter_message(response=TALK_TO_A_PERSON)
        return []
