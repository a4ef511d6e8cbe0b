"""The start of every conversation: a short notice of what the assistant is and is not, and a hello
that offers the main topics."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.database import StoreUnavailable
from actions.store import KnowledgeStore, read_store
from actions.topics import MAIN_TOPICS, offer_topics, topic_buttons

logger = logging.getLogger(__name__)

# The opening notice is a domain response: the Rasa server sends the same one when the action
# server cannot be reached (connectors.processor), and fills in what only it knows: what is kept
# of the conversation and for how long (connectors.responses). This action adds the years of the
# sources, from the store.
OPENING_NOTICE = "utter_opening_notice"

GREETING = (
    "Hi! I can tell you what two trials in relapsing MS found. In both, people had alemtuzumab "
    "(Lemtrada) or interferon beta-1a (Rebif). You can ask about relapses, disability and side "
    "effects. You can ask about check-ups and the trials too. What would you like to know?"
)


def figure_years(store: KnowledgeStore) -> str:
    """When the figures' sources were published, as the notice says it (" from 2012 to 2020")."""
    years = sorted({source.published[:4] for source in store.sources_of_figures()})
    if not years:
        return ""
    return f" from {years[0]}" if len(years) == 1 else f" from {years[0]} to {years[-1]}"


class ActionSessionStart(Action):
    """Starts a conversation with the notice, naming the years its figures were published."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        # Overriding this action turns off Rasa's own carrying-over of slots, so do it here.
        events.extend(SlotSet(name, value) for name, value in tracker.slots.items() if value is not None)
        try:
            years = await read_store(figure_years)
        except StoreUnavailable:
            logger.exception("Could not read the sources for the opening notice")
            years = ""
        dispatcher.utter_message(response=OPENING_NOTICE, figure_years=years)
        events.append(ActionExecuted("action_listen"))
        return events


class ActionGreet(Action):
    """Says hello with the main topics as quick replies, so a person can start with a tap.

    An action rather than a domain response, because whether buttons are safe depends on the
    channel the person typed in (see `offer_topics`), which a response cannot see.
    """

    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        offer_topics(dispatcher, tracker, GREETING, topic_buttons(MAIN_TOPICS))
        return []
