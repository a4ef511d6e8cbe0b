"""The start of every conversation: a short notice of what the assistant is and is not, and a hello
that offers the main topics."""

from __future__ import annotations

import logging
import os
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.database import StoreUnavailable
from actions.store import KnowledgeStore, read_store
from actions.topics import MAIN_TOPICS, offer_topics, topic_buttons

logger = logging.getLogger(__name__)

EMERGENCY_CONTACT_VARIABLE = "EMERGENCY_CONTACT"
WHO_I_AM = "Hello. I'm an automated assistant, not a doctor or nurse, and I can't give medical advice."
WHAT_I_KEEP = (
    "The messages in this chat are kept on the server that runs me, so that I can follow the "
    "conversation. Please don't share your name or other personal details."
)

GREETING = (
    "Hello! I explain the results of trials in relapsing MS. They compared alemtuzumab (Lemtrada) "
    "with interferon beta-1a (Rebif). You can ask me about relapses, disability, side effects, "
    "check-ups, or the trials themselves. What would you like to know?"
)

FIGURES_FROM = "My figures come from published trial results and safety information"


def where_figures_come_from(store: KnowledgeStore) -> str:
    years = sorted({source.published[:4] for source in store.sources_of_figures()})
    if not years:
        return f"{FIGURES_FROM}."
    span = years[0] if len(years) == 1 else f"{years[0]} to {years[-1]}"
    return f"{FIGURES_FROM} from {span}. Ask me where they come from to see each source."


def opening_notice(where: str | None) -> str:
    return " ".join(part for part in (WHO_I_AM, where, WHAT_I_KEEP) if part)


class ActionSessionStart(Action):
    """Starts a conversation with the notice, and the emergency wording this deployment uses."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        # Overriding this action turns off Rasa's own carrying-over of slots, so do it here.
        events.extend(SlotSet(name, value) for name, value in tracker.slots.items() if value is not None)
        emergency_contact = os.environ.get(EMERGENCY_CONTACT_VARIABLE, "").strip()
        if emergency_contact:
            events.append(SlotSet("emergency_contact", emergency_contact))

        try:
            where = await read_store(where_figures_come_from)
        except StoreUnavailable:
            logger.exception("Could not read the sources for the opening notice")
            where = f"{FIGURES_FROM}."
        dispatcher.utter_message(text=opening_notice(where))
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
