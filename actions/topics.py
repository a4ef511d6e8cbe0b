"""The registry of topics a person can ask about, and how they are offered as quick-reply
buttons where the channel has them (the greeting, every stage of the fallback, and the "more"
under a short answer), or in words in the terminal."""

from __future__ import annotations

from dataclasses import dataclass

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.phrasing import listing

QUESTION_PREFIX = "ask_"


@dataclass(frozen=True)
class Topic:
    """One thing a person can ask about, answered by `action_answer_question` from the store.

    Its intent is `ask_<key>`, with a rule in data/rules.yml (tests/test_topics.py checks that
    domain.yml and the rules agree with this list). `title` is its quick-reply button (no
    figures). A topic `same_in_every_trial` is answered from the medicines and the guidance,
    not from a trial's results. The topics `offered_first` are the buttons of the greeting and
    the fallback, in this order. A topic `tested_as` another is one whose figures a trial may
    not have tested for chance, while it tested the other's ("how many relapsed" and "the
    relapse rate"): "could it be chance?" then gets that test too. `in_short` is what a one-line
    summary of the results calls the topic's outcomes ("relapses").
    """

    key: str
    title: str
    same_in_every_trial: bool = False
    offered_first: bool = False
    tested_as: str | None = None
    in_short: str | None = None

    @property
    def intent(self) -> str:
        return f"{QUESTION_PREFIX}{self.key}"


TOPICS = [
    Topic("results", "What the trial found", offered_first=True),
    Topic("side_effects", "Side effects and risks", same_in_every_trial=True, offered_first=True),
    Topic(
        "relapse", "How many had relapses", offered_first=True, tested_as="relapse_rate", in_short="relapses"
    ),
    Topic("relapse_free", "How many had no relapse", tested_as="relapse_rate", in_short="relapses"),
    Topic("relapse_rate", "Relapses a year", in_short="relapses"),
    Topic("disability", "Disability getting worse", in_short="disability"),
    Topic("long_term", "What happened after the trial"),
    Topic("infusion_reactions", "Reactions to the drip"),
    Topic("infections", "Infections"),
    Topic("autoimmunity", "Autoimmune side effects"),
    Topic("monitoring", "Check-ups and tests", same_in_every_trial=True, offered_first=True),
    Topic("participants", "Who took part"),
    Topic("allocation", "How the groups were chosen"),
    Topic("higher_dose_group", "The higher-dose group"),
    Topic("primary_endpoints", "What the trial measured"),
    Topic("trial_overview", "About the trial", offered_first=True),
    Topic("how_given", "How the medicines are given"),
    Topic("mechanism", "How alemtuzumab works", same_in_every_trial=True),
    Topic("what_is_treatment", "What the medicines are", same_in_every_trial=True),
    Topic("source", "Where the figures come from", same_in_every_trial=True),
]
TOPIC_OF_INTENT = {topic.intent: topic.key for topic in TOPICS}
SAME_IN_EVERY_TRIAL = frozenset(topic.key for topic in TOPICS if topic.same_in_every_trial)
TESTED_AS = {topic.key: topic.tested_as for topic in TOPICS if topic.tested_as}
IN_SHORT = {topic.key: topic.in_short for topic in TOPICS if topic.in_short}
# Every button that asks a question: the topics, and two questions that are not topics.
TOPIC_TITLES = {
    **{topic.intent: topic.title for topic in TOPICS},
    "ask_definition": "What a word means",
    "ask_capabilities": "What you can ask me",
}
LONG_TERM = "long_term"  # answered from a trial's follow-up study: see actions/long_term.py
LONG_TERM_INTENT = f"{QUESTION_PREFIX}{LONG_TERM}"
MAIN_TOPICS = [topic.intent for topic in TOPICS if topic.offered_first]
# Where to find a person to talk to: a domain response, whose {helpline} the server fills in.
TALK_TO_A_PERSON = "utter_talk_to_a_person"
TERMINAL_CHANNEL = "cmdline"  # rasa shell: it turns buttons into a menu that swallows typing


@dataclass(frozen=True)
class Offer:
    """One thing to ask next, under an answer: a quick reply where the channel has buttons, and
    the same question `in_words` in the terminal (each is understood when typed)."""

    title: str
    payload: str
    in_words: str

    @property
    def button(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


# What a short answer about benefits leaves out, one tap away (see answers.say_caveat and
# explain.py): the interval and chance in words, the full safety note, and the sources.
HOW_SURE = Offer("How sure is this?", "/ask_chance", "how sure is this?")
RISKS_IN_FULL = Offer("The risks in full", "/ask_side_effects", "what are the risks in full?")
SOURCES = Offer("Sources", "/ask_source", "where do the figures come from?")
WHAT_HAPPENED_AFTER = Offer("What happened after the trial", f"/{LONG_TERM_INTENT}", "does it last?")


def offers_in_words(offers: list[Offer]) -> str:
    """The terminal's quick replies: 'You can also ask "a", "b" or "c".'"""
    quoted = [f'"{offer.in_words}"' for offer in offers]
    return f"You can also ask {listing(quoted, last='or')}."


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
