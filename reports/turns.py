"""What each message a patient sent led to, read from the events Rasa stored for it.

A turn is one message (a `user` event) and every event up to the next message of the same
conversation. What the assistant did with it is read from the intent it understood, the actions
it ran, the slots the answering action set and the replies' response names, never from the
words, in this order (the first that holds decides):

- emergency: the action `utter_urgent_help` ran (the red-flag rule's reply);
- advice refused: the action `action_personal_advice` ran;
- answered: `action_answer_question` ran and set the slot `topic` (its topic; the slot `trial`
  holds the trials it was about), or `action_define_term` explained a word (topic `definition`);
- no facts in the store: `action_answer_question` set `topic` to nothing (the store has nothing
  on the topic), or `action_define_term` could not explain the word;
- could not look it up: a reply `utter_cannot_look_up` (the knowledge store or the action
  server failed);
- outside what it covers: the action `action_out_of_scope` ran;
- not understood (a fallback): the intent was `nlu_fallback`; or the two-stage fallback
  `action_two_stage_fallback` ran (its suggestions, "say it another way", its last resort) and
  nothing was answered; or `action_default_fallback` ran (no rule for what came next); or
  `action_answer_question` found no topic in a follow-up and asked to rephrase;
- other: anything else (hello, thanks, goodbye, "are you a bot?", asking for a person, ...).

The fallback's names are `connectors.metrics`'s, so the report and the Prometheus counter agree
on what a fallback is (the report also counts the turns inside the two-stage fallback after its
first, such as pressing "Something else", and a follow-up with no topic). A fallback turn is
`resolved` when the fallback it began or continued ended in an answer: the patient pressed a topic
it suggested, or said the question again clearly (`through_fallback`).

Rasa's two-stage fallback, once the patient has clarified, stores the message again (the same
`message_id`): that copy belongs to its turn and is not another message.

The words of a message are kept on its turn only where the report may show them: never for an
emergency, nor for a message the red-flag rules or the model took for a possible emergency
(those turns say `emergency_suspected`, and the report shows that such a text was withheld).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Iterator

from connectors.metrics import CORE_FALLBACK_ACTION, NLU_FALLBACK_INTENT, RED_FLAG_INTENT, URGENT_HELP
from reports.events import ACTION, BOT, REWIND, SLOT, USER, StoredEvent

ANSWER_QUESTION = "action_answer_question"
DEFINE_TERM = "action_define_term"
PERSONAL_ADVICE = "action_personal_advice"
OUT_OF_SCOPE = "action_out_of_scope"
TWO_STAGE_FALLBACK = "action_two_stage_fallback"
CANNOT_LOOK_UP = "utter_cannot_look_up"
# Said with the fallback's topics when the model's best guess was a red flag no rule confirmed.
URGENT_HELP_IF_NEEDED = "utter_urgent_help_if_needed"
TOPIC_SLOT = "topic"
TRIAL_SLOT = "trial"
DEFINITION = "definition"
# What `actions.answers.define_term` says of a word the glossary does not have.
CANNOT_EXPLAIN = "Sorry, I can't explain that word yet."
# The entities the red-flag check sets on a message that raises a flag (domain.yml).
RED_FLAG_ENTITIES = frozenset({"red_flag", "urgent_reply"})


class Outcome(Enum):
    EMERGENCY = "emergency"
    ADVICE = "advice refused"
    ANSWERED = "answered"
    NO_FACTS = "no facts in the store"
    COULD_NOT_LOOK_UP = "could not look it up"
    OUT_OF_SCOPE = "outside what it covers"
    FALLBACK = "not understood"
    OTHER = "other"


# Outcomes that leave a question unanswered (a fallback only if it was not resolved).
UNANSWERED = frozenset({Outcome.NO_FACTS, Outcome.COULD_NOT_LOOK_UP, Outcome.OUT_OF_SCOPE, Outcome.FALLBACK})


@dataclass
class Turn:
    """One message and what it led to. `text` is None where it must never be shown."""

    sender: str
    timestamp: float
    outcome: Outcome
    text: str | None
    topic: str | None = None
    trials: tuple[str, ...] = ()
    emergency_suspected: bool = False
    through_fallback: bool = False  # answered once the fallback's loop had it clarified
    resolved: bool = False  # a fallback whose question the conversation's next answer settled

    @property
    def unanswered(self) -> bool:
        return self.outcome in UNANSWERED and not (self.outcome is Outcome.FALLBACK and self.resolved)


@dataclass
class _Reading:
    """The events of one turn, as they are read."""

    message: StoredEvent
    events: list[StoredEvent] = field(default_factory=list)


def turns_of(events: Iterable[StoredEvent], flagged: Any = None) -> list[Turn]:
    """Every turn in `events` (as `reports.events.read_events` gives them: each conversation's
    in order), classified. `flagged(text) -> bool`, if given, is the red-flag rules: a text they
    flag now is withheld even if they did not when it was sent."""
    turns: list[Turn] = []
    for sender_turns in _by_conversation(_readings(events)):
        classified = [_classify(reading, flagged) for reading in sender_turns]
        for index, turn in enumerate(classified):
            if turn.through_fallback:
                # The fallback's turns just before it: the question they failed on is answered.
                for earlier in reversed(classified[:index]):
                    if earlier.outcome is not Outcome.FALLBACK:
                        break
                    earlier.resolved = True
        turns.extend(classified)
    return turns


def _readings(events: Iterable[StoredEvent]) -> Iterator[_Reading]:
    current: _Reading | None = None
    for event in events:
        if current is not None and event.sender != current.message.sender:
            yield current
            current = None
        if event.kind == USER:
            if current is not None and _is_clarification(event, current):
                current.events.append(event)
                continue
            if current is not None:
                yield current
            current = _Reading(event)
        elif current is not None:
            current.events.append(event)
    if current is not None:
        yield current


def _by_conversation(readings: Iterator[_Reading]) -> Iterator[list[_Reading]]:
    batch: list[_Reading] = []
    for reading in readings:
        if batch and reading.message.sender != batch[0].message.sender:
            yield batch
            batch = []
        batch.append(reading)
    if batch:
        yield batch


def _is_clarification(event: StoredEvent, current: _Reading) -> bool:
    """Rasa's two-stage fallback storing the clarified message again: the same message id (or,
    for a channel that gives none, the same words right after the fallback's rewind)."""
    message_id = event.data.get("message_id")
    if message_id:
        return message_id == current.message.data.get("message_id")
    kinds = [(seen.kind, seen.action) for seen in current.events[-2:]]
    return (
        kinds == [(REWIND, None), (ACTION, "action_listen")]
        and any(seen.action == TWO_STAGE_FALLBACK for seen in current.events)
        and event.data.get("text") == current.message.data.get("text")
    )


def _classify(reading: _Reading, flagged: Any) -> Turn:
    actions = [event.action for event in reading.events if event.kind == ACTION]
    replies = {
        (event.data.get("metadata") or {}).get("utter_action")
        for event in reading.events
        if event.kind == BOT
    }
    message = reading.message
    text = message.data.get("text") or ""
    suspected = (
        message.intent == RED_FLAG_INTENT
        or any(entity.get("entity") in RED_FLAG_ENTITIES for entity in _entities(message))
        or URGENT_HELP in actions
        or URGENT_HELP in replies
        or URGENT_HELP_IF_NEEDED in replies
        or bool(flagged and text and flagged(text))
    )
    turn = Turn(
        sender=message.sender,
        timestamp=message.timestamp,
        outcome=Outcome.OTHER,
        text=None if suspected else text,
        emergency_suspected=suspected,
    )
    answer = _answer(reading) if ANSWER_QUESTION in actions else None
    definition = _definition(reading) if DEFINE_TERM in actions else None
    if URGENT_HELP in actions:
        turn.outcome = Outcome.EMERGENCY
    elif PERSONAL_ADVICE in actions:
        turn.outcome = Outcome.ADVICE
    elif answer is not None and answer[0]:
        turn.outcome, turn.topic, turn.trials = Outcome.ANSWERED, answer[0], answer[1]
    elif definition is True:
        turn.outcome, turn.topic = Outcome.ANSWERED, DEFINITION
    elif (answer is not None and answer[0] is None and answer[2]) or definition is False:
        turn.outcome = Outcome.NO_FACTS
    elif CANNOT_LOOK_UP in replies:
        turn.outcome = Outcome.COULD_NOT_LOOK_UP
    elif OUT_OF_SCOPE in actions:
        turn.outcome = Outcome.OUT_OF_SCOPE
    elif (
        message.intent == NLU_FALLBACK_INTENT
        or CORE_FALLBACK_ACTION in actions
        or TWO_STAGE_FALLBACK in actions
        or answer is not None
    ):
        turn.outcome = Outcome.FALLBACK
    turn.through_fallback = turn.outcome is Outcome.ANSWERED and TWO_STAGE_FALLBACK in actions
    return turn


def _entities(message: StoredEvent) -> list[dict[str, Any]]:
    parse_data = message.data.get("parse_data") or {}
    return [entity for entity in parse_data.get("entities") or [] if isinstance(entity, dict)]


def _answer(reading: _Reading) -> tuple[str | None, tuple[str, ...], bool]:
    """What the answering action's slots say: its topic, its trials, and whether it set the
    topic at all (to nothing: no facts on it; not at all: no topic found, or it failed)."""
    topic: str | None = None
    trials: tuple[str, ...] = ()
    set_topic = False
    after = False
    for event in reading.events:
        if event.kind == ACTION:
            after = event.action == ANSWER_QUESTION
        elif after and event.kind == SLOT:
            if event.data.get("name") == TOPIC_SLOT:
                set_topic, topic = True, event.data.get("value")
            elif event.data.get("name") == TRIAL_SLOT:
                value = event.data.get("value")
                trials = tuple(value) if isinstance(value, list) else (value,) if value else ()
    return topic, trials, set_topic


def _definition(reading: _Reading) -> bool | None:
    """Whether `action_define_term` explained a word (None: it said nothing)."""
    after = False
    for event in reading.events:
        if event.kind == ACTION:
            after = event.action == DEFINE_TERM
        elif after and event.kind == BOT:
            return not (event.data.get("text") or "").startswith(CANNOT_EXPLAIN)
    return None
