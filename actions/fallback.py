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

# What each question is called on a button; no figures.
TOPIC_TITLES = {
    "ask_relapse": "How many had relapses",
    "ask_relapse_free": "How many had no relapse",
    "ask_relapse_rate": "Relapses a year",
    "ask_disability": "Disability getting worse",
    "ask_infusion_reactions": "Reactions to the drip",
    "ask_infections": "Infections",
    "ask_autoimmunity": "Autoimmune side effects",
    "ask_monitoring": "Check-ups and tests",
    "ask_participants": "Who took part",
    "ask_allocation": "How the groups were chosen",
    "ask_higher_dose_group": "The higher-dose group",
    "ask_primary_endpoints": "What the trial measured",
    "ask_trial_overview": "About the trial",
    "ask_how_given": "How the medicines are given",
    "ask_mechanism": "How alemtuzumab works",
    "ask_what_is_treatment": "What the medicines are",
    "ask_definition": "What a word means",
    "ask_source": "Where the figures come from",
    "ask_capabilities": "What you can ask me",
}
MAIN_TOPICS = [
    "ask_relapse",
    "ask_disability",
    "ask_infusion_reactions",
    "ask_monitoring",
    "ask_trial_overview",
]
SOMETHING_ELSE = {"title": "Something else", "payload": "/out_of_scope"}
LIKELY_TOPICS_SHOWN = 3

NOT_SURE = "Sorry, I'm not sure what you mean. Did you mean one of these?"
SAY_IT_ANOTHER_WAY = (
    "Sorry, I still don't understand. Could you say it another way, in a few words? "
    "For example: how many people had relapses on alemtuzumab?"
)
WHAT_I_CAN_ANSWER = "Sorry, I can't help with that. These are the things I can tell you about:"


def topic_buttons(intents: list[str]) -> list[dict[str, str]]:
    return [{"title": TOPIC_TITLES[intent], "payload": f"/{intent}"} for intent in intents]


def likely_topics(tracker: Tracker) -> list[str]:
    """The topics the model thought most likely, best first, that have a button."""
    ranking = tracker.latest_message.get("intent_ranking") or []
    names = [entry.get("name") for entry in ranking]
    return [name for name in names if name in TOPIC_TITLES][:LIKELY_TOPICS_SHOWN]


class ActionAskWhichTopic(Action):
    """First stage: offer the likely topics as buttons (Rasa's "ask affirmation")."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        likely = likely_topics(tracker) or MAIN_TOPICS
        dispatcher.utter_message(text=NOT_SURE, buttons=[*topic_buttons(likely), SOMETHING_ELSE])
        return []


class ActionAskToRephrase(Action):
    """Second stage: ask for the question in other words, with the main topics as buttons."""

    def name(self) -> str:
        return "action_default_ask_rephrase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(text=SAY_IT_ANOTHER_WAY, buttons=topic_buttons(MAIN_TOPICS))
        return []


class ActionSayWhatICanAnswer(Action):
    """Last resort, and the reply when no rule fits: say what can be answered."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(
            text=WHAT_I_CAN_ANSWER, buttons=topic_buttons([*MAIN_TOPICS, "ask_capabilities"])
        )
        # Like Rasa's own fallback: forget the message, so it does not steer the conversation.
        return [UserUtteranceReverted()]
