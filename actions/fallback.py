"""When the assistant is not sure what was asked (two-stage fallback).

Below the confidence threshold in config.yml, the assistant never guesses an answer: it first
offers the topics it thinks were meant, as buttons; if the next message is still unclear it asks
the person to say it another way; and then it lists what it can answer. A clicked topic, or a
clear rephrasing, is answered as if it had been asked in the first place.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import scope_refusal
from actions.asked import outcomes_named, treatment_asked
from actions.database import StoreUnavailable
from actions.store import read_store
from actions.topics import (
    MAIN_TOPICS,
    QUESTION_PREFIX,
    TALK_TO_A_PERSON,
    TOPIC_TITLES,
    offer_topics,
    topic_buttons,
)

SOMETHING_ELSE = {"title": "Something else", "payload": "/out_of_scope"}
OUT_OF_SCOPE = (
    "Sorry, I can't help with that. I only know the results of two trials in relapsing MS. In "
    "both, people had alemtuzumab (Lemtrada) or interferon beta-1a (Rebif). I have no figures for "
    "other medicines, trials or illnesses. So I won't guess. Your MS nurse or neurologist can help "
    "with other questions. Here is what you can ask me about:"
)
LIKELY_TOPICS_SHOWN = 3

NOT_SURE = "Sorry, I'm not sure what you mean. Did you mean one of these?"
URGENT_HELP_IF_NEEDED = "utter_urgent_help_if_needed"  # a domain response: the server fills in the number
SAY_IT_ANOTHER_WAY = (
    "Sorry, I still don't understand. Could you say it another way, in a few words? "
    "For example: how many people had relapses on alemtuzumab?"
)
WHAT_I_CAN_ANSWER = "Sorry, I can't help with that. These are the things I can tell you about:"


def model_suspects_an_emergency(tracker: Tracker) -> bool:
    """The model's own best guess was a red flag that no rule confirmed (see safety/)."""
    ranking = tracker.latest_message.get("intent_ranking") or []
    guesses = [entry.get("name") for entry in ranking if entry.get("name") != "nlu_fallback"]
    return bool(guesses) and guesses[0] == "red_flag"


def likely_topics(tracker: Tracker) -> list[str]:
    """The topics the message's own words name ("infections", "relapses"), then those the model
    thought most likely, best first, each with a button."""
    named = [f"{QUESTION_PREFIX}{outcome}" for outcome in outcomes_named(tracker)]
    ranking = tracker.latest_message.get("intent_ranking") or []
    guesses = [entry.get("name") for entry in ranking]
    likely: list[str] = []
    for name in [*named, *guesses]:
        if name in TOPIC_TITLES and name not in likely:
            likely.append(name)
    return likely[:LIKELY_TOPICS_SHOWN]


class ActionAskWhichTopic(Action):
    """First stage: offer the likely topics as buttons (Rasa's "ask affirmation")."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        try:
            # The medicine asked about, not one in the person's own story ("I was on Tecfidera").
            honest = await read_store(
                lambda store: scope_refusal(store, treatment_asked(store, tracker), text)
            )
        except StoreUnavailable:
            honest = None
        if honest:
            for message in honest:
                dispatcher.utter_message(text=message)
            return []
        if model_suspects_an_emergency(tracker):
            dispatcher.utter_message(response=URGENT_HELP_IF_NEEDED)
        likely = likely_topics(tracker) or MAIN_TOPICS
        offer_topics(dispatcher, tracker, NOT_SURE, [*topic_buttons(likely), SOMETHING_ELSE])
        return []


class ActionAskToRephrase(Action):
    """Second stage: ask for the question in other words, with the main topics as buttons."""

    def name(self) -> str:
        return "action_default_ask_rephrase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        offer_topics(dispatcher, tracker, SAY_IT_ANOTHER_WAY, topic_buttons(MAIN_TOPICS))
        # Not understood twice: a person may help where the assistant cannot.
        dispatcher.utter_message(response=TALK_TO_A_PERSON)
        return []


class ActionSayWhatICanAnswer(Action):
    """Last resort, and the reply when no rule fits: say what can be answered."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        everything = topic_buttons([*MAIN_TOPICS, "ask_capabilities"])
        offer_topics(dispatcher, tracker, WHAT_I_CAN_ANSWER, everything)
        # Like Rasa's own fallback: forget the message, so it does not steer the conversation.
        return [UserUtteranceReverted()]


class ActionOutOfScope(Action):
    """Says plainly what the assistant cannot answer, then what it can, as quick replies.

    Nonsense is often taken for a question outside the trial, so this reply, like the
    fallback's, must always leave the person a way on.
    """

    def name(self) -> str:
        return "action_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        offer_topics(dispatcher, tracker, OUT_OF_SCOPE, topic_buttons(MAIN_TOPICS))
        return []
