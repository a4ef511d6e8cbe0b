"""Rasa custom actions: work out what was asked, and answer it from the knowledge store.

The conversation contract (intents, entities, topics) is in docs/conversation-design.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import feedback, metrics
from actions.answers import (
    NOT_A_CURE,
    STORE_UNAVAILABLE,
    about_benefits,
    all_the_trials,
    compose_answer,
    define_term,
    drawing_on,
    no_knowledge,
    other_trials_on,
    trials_answered,
)
from actions.asked import (
    AFTER_THE_TRIAL,
    CHANCE,
    EXPLANATION,
    FACTS,
    PLACEBO,
    RESULTS,
    TRIAL_FOLLOW_UP,
    Asked,
    figure_quoted,
    typed_entity_words,
    what_was_asked,
)
from actions.database import StoreUnavailable
from actions.explain import explain_last_answer, how_sure
from actions.fallback import ActionAskToRephrase
from actions.long_term import answers_later, compose_long_term, offers_follow_up
from actions.phrasing import capitalised
from actions.pictures import PICTURE, in_words, pictures_for
from actions.scope import ALL_TRIALS, trials_asked
from actions.scope import SLOT as TRIAL_SLOT
from actions.store import KnowledgeStore, read_store
from actions.topics import (
    HOW_SURE,
    LONG_TERM,
    RISKS_IN_FULL,
    SAME_IN_EVERY_TRIAL,
    SOURCES,
    TERMINAL_CHANNEL,
    WHAT_HAPPENED_AFTER,
    Offer,
    offers_in_words,
)
from feedback.store import RowReference, new_answer_id

logger = logging.getLogger(__name__)
DEFINITION = "definition"  # how the feedback store files a word explained


def offers_under(store: KnowledgeStore, asked: Asked, benefits: bool, after: bool) -> list[Offer]:
    """What to offer under an answer. Under a short answer about benefits: how sure it is and the
    risks in full; then each other trial with something on the topic, and all of them side by
    side (when the question named no trial); then the years after the trial; then the sources."""
    offers = [HOW_SURE, RISKS_IN_FULL] if benefits else []
    topic = asked.topics[-1]
    if not asked.trials and topic not in SAME_IN_EVERY_TRIAL:
        others = other_trials_on(store, store.trial(), topic)
        offers.extend(
            Offer(f"In {trial.name}", _follow_up(trial.key), f"and in {trial.name}?") for trial in others
        )
        if others:
            everyone = all_the_trials(store)
            offers.append(
                Offer(f"{capitalised(everyone)} side by side", _follow_up(ALL_TRIALS), f"in {everyone}?")
            )
    if after:
        offers.append(WHAT_HAPPENED_AFTER)
    if benefits:
        offers.append(SOURCES)
    return offers


def _follow_up(trial_value: str) -> str:
    return f'/{TRIAL_FOLLOW_UP}{{"{TRIAL_SLOT}": "{trial_value}"}}'


@dataclass
class Answered:
    """What `action_answer_question` worked out from the store: what was asked, the messages (None
    when the store knows nothing on it), the trials answered, the offers under it, the topics
    answered from the years after the trial, the pictures; and the knowledge rows it drew on."""

    asked: Asked
    messages: list[str] | None
    trial_keys: list[str]
    offers: list[Offer]
    later: list[str]
    pictures: list[dict]
    rows: list[RowReference] = field(default_factory=list)
    knowledge_version: str | None = None

    def topics(self) -> list[str]:
        """The topics as the feedback store files the answer: those from the years after the trial
        as `long_term/<topic>`, and a question about the last answer's figures with what it wanted
        ("relapse/chance")."""
        wanted = "" if self.asked.wants == FACTS else f"/{self.asked.wants}"
        return [
            f"{LONG_TERM}/{topic}" if topic in self.later and topic != LONG_TERM else f"{topic}{wanted}"
            for topic in self.asked.topics
        ]


class ActionAnswerQuestion(Action):
    """Answers every `ask_<topic>` question and its follow-ups with figures from the store."""

    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        def answer(store: KnowledgeStore) -> Answered:
            with drawing_on() as drawn:
                answered = compose(store)
            answered.rows = feedback.references(drawn)
            answered.knowledge_version = store.version
            return answered

        def compose(store: KnowledgeStore) -> Answered:
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
            offers: list[Offer] = []
            pictures = []
            if messages and asked.wants == FACTS:
                for topic in asked.topics:
                    if topic not in later:
                        pictures += pictures_for(store, topic, asked.treatment, asked.text, asked.trials)
            if messages:
                benefits = not later and asked.wants == FACTS and about_benefits(store, trials, asked.topics)
                after = not later and offers_follow_up(store, trials, asked.topics)
                offers = offers_under(store, asked, benefits, after)
            return Answered(asked, messages, [trial.key for trial in trials], offers, later, pictures)

        try:
            answered = await read_store(answer)
        except StoreUnavailable:
            logger.exception("Could not answer from the knowledge store")
            dispatcher.utter_message(response=STORE_UNAVAILABLE)
            return []

        asked, messages, trial_keys, offers, pictures = (
            answered.asked, answered.messages, answered.trial_keys, answered.offers, answered.pictures
        )  # fmt: skip
        if not asked.topics:
            await ActionAskToRephrase().run(dispatcher, tracker, domain)
            return []
        if messages is None:
            metrics.no_knowledge(asked.topic)
            dispatcher.utter_message(text=no_knowledge(asked.topic))
            return [SlotSet("topic", None)]
        metrics.answered(asked.topics, trial_keys)
        answer_id = new_answer_id()
        feedback.record_in_background(
            feedback.answer_record(
                tracker, answer_id, answered.topics(), trial_keys, answered.rows, answered.knowledge_version
            )
        )
        buttons = [offer.button for offer in offers]
        if tracker.get_latest_input_channel() == TERMINAL_CHANNEL:
            # No buttons or pictures in the terminal (see topics.offer_topics): the pictures as
            # text tables under the first message, and the same choices in words at the end.
            if pictures:
                messages = [f"{messages[0]}\n\n{in_words(pictures)}", *messages[1:]]
            if offers:
                messages = [*messages[:-1], f"{messages[-1]}\n{offers_in_words(offers)}"]
            buttons, pictures = [], []
        # "Was this helpful?" goes with the last message (the channel draws it under the answer).
        line, question = feedback.under_the_answer(answer_id, tracker.get_latest_input_channel())
        messages = [*messages[:-1], messages[-1] + line]
        for index, text in enumerate(messages, start=1):
            last = index == len(messages)
            dispatcher.utter_message(
                text=text, buttons=buttons if last else None, **(question if last else {})
            )
            if index == 1:
                # Under the figures they draw, before the safety note.
                for picture in pictures:
                    dispatcher.utter_message(json_message={PICTURE: picture})
        return [
            SlotSet("topic", asked.topics[-1]),
            SlotSet("treatment", asked.treatment.name if asked.treatment else None),
            SlotSet(TRIAL_SLOT, trial_keys or None),
            SlotSet(AFTER_THE_TRIAL, bool(answered.later)),
            SlotSet(feedback.LAST_ANSWER_SLOT, answer_id),
        ]


def answer_topic(store: KnowledgeStore, asked: Asked, topic: str) -> list[str] | None:
    """One topic of what was asked: its facts, or the last answer's figures explained again.
    A question against no treatment ("how much does it cut relapses compared to doing nothing?")
    gets the honest reply that no group went untreated, however it was asked."""
    untreated = asked.treatment is not None and asked.treatment.key == PLACEBO
    if asked.wants == CHANCE and not untreated:
        # Of every trial the last answer put side by side.
        explained = how_sure(store, asked.trials or [store.trial()], topic, asked.treatment)
        if explained is not None:
            return explained
    elif asked.wants != FACTS and not untreated:
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

        def define(store: KnowledgeStore) -> tuple[list[str], list[RowReference], str | None]:
            with drawing_on() as drawn:
                messages = define_with_figure(store, tracker, words)
            return messages, feedback.references(drawn), store.version

        try:
            messages, rows, version = await read_store(define)
        except StoreUnavailable:
            logger.exception("Could not look up a glossary word")
            dispatcher.utter_message(response=STORE_UNAVAILABLE)
            return []
        if not rows:
            # "I can't explain that word yet": not an answer from the store.
            for text in messages:
                dispatcher.utter_message(text=text)
            return []
        answer_id = new_answer_id()
        feedback.record_in_background(
            feedback.answer_record(tracker, answer_id, [DEFINITION], [], rows, version)
        )
        line, question = feedback.under_the_answer(answer_id, tracker.get_latest_input_channel())
        for index, text in enumerate(messages, start=1):
            if index < len(messages):
                dispatcher.utter_message(text=text)
            else:
                dispatcher.utter_message(text=text + line, **question)
        return [SlotSet(feedback.LAST_ANSWER_SLOT, answer_id)]


def define_with_figure(store: KnowledgeStore, tracker: Tracker, words: list[str]) -> list[str]:
    """The word explained; and when the question quotes a figure ("what does an annualised
    relapse rate of 0.x mean?"), that figure explained from its own answer too."""
    text = tracker.latest_message.get("text") or ""
    quoted = figure_quoted(store, trials_asked(store, tracker) or [store.trial()], text)
    if quoted is None:
        return define_term(store, words)
    if quoted.statistic:
        explained = how_sure(store, [quoted.trial], quoted.topic, None)
    else:
        explained = explain_last_answer(store, quoted.trial, quoted.topic, None, EXPLANATION)
    if not explained:
        return define_term(store, words)
    found = any(store.find_glossary_term(word) for word in words if word)
    return [*define_term(store, words), *explained] if found else explained
