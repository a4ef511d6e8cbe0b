"""The topics a person can ask about, offered as quick-reply buttons where the channel has them.

Used wherever the assistant suggests what to ask: the greeting and every stage of the fallback.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

# What each question is called on a button; no figures.
TOPIC_TITLES = {
    "ask_results": "What the trial found",
    "ask_side_effects": "Side effects and risks",
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
    "ask_results",
    "ask_side_effects",
    "ask_relapse",
    "ask_monitoring",
    "ask_trial_overview",
]
TERMINAL_CHANNEL = "cmdline"  # rasa shell: it turns buttons into a menu that swallows typing


def topic_buttons(intents: list[str]) -> list[dict[str, str]]:
    return [{"title": TOPIC_TITLES[intent], "payload": f"/{intent}"} for intent in intents]


def offer_topics(dispatcher: CollectingDispatcher, tracker: Tracker, text: str, buttons: list[dict]) -> None:
    """Topics as buttons, except in the terminal, where they are listed in words.

    In `rasa shell` a message with buttons becomes a menu, and a person who types a new message
    there (perhaps an emergency) and presses Enter picks the first topic instead of sending it.
    """
    if tracker.get_latest_input_channel() == TERMINAL_CHANNEL:
        topics = "; ".join(button["title"] for button in buttons)
        lead = text if text.endswith(":") else f"{text} You could ask about:"
        dispatcher.utter_message(text=f"{lead} {topics}.")
    else:
        dispatcher.utter_message(text=text, buttons=buttons)
