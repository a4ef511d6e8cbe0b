"""Feedback on every answer: "Was this helpful?", and if not, why, in the patient's channel.

Each answer given from the knowledge store (`action_answer_question`, and a word explained by
`action_define_term`) gets a random answer id, is recorded in the feedback store with its topic,
trial and the knowledge rows it drew on (never the patient's words: feedback/store.py), and
carries the question under its last message:

- the website widget: the message's `feedback` key, drawn by the widget as "Was this helpful?
  Yes / No" with the reasons after "No"; its presses go to the Rasa server as a socket event of
  their own (connectors/socketio.py), so they never enter the conversation;
- Slack and Telegram: the same key, sent by the channel as a message with two quick replies
  (connectors/slack.py, connectors/telegram.py), whose payloads (`payload`) come back here as the
  `feedback` intent; after "No", the reasons as quick replies;
- the terminal: a line under the answer saying what to type, "helpful" or "not helpful" (and
  then a reason), with the payload each stands for in the message's `typed_replies`, which the
  Rasa server takes in place of those exact words in the next message only (connectors/processor.py).
  "Yes" and "no" are never taken for feedback: they answer other questions.

Greetings, fallbacks, refusals and the urgent-help reply get none. Recording never delays or
breaks an answer: it runs on the store's own thread (`feedback.store.WRITER`), and a store that is
down is logged, not felt.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any, Iterable

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.models import Arm, Comparison, Endpoint, FollowUpResult, GlossaryTerm, Result, SafetyFinding
from actions.topics import TERMINAL_CHANNEL
from feedback.store import (
    ANSWER_ID,
    REASONS,
    TOKEN_VARIABLE,
    WRITER,
    AnswerRecord,
    RowReference,
    conversation_hash,
    record_answer,
    record_feedback,
    store_url,
)

logger = logging.getLogger(__name__)

INTENT = "feedback"
# The payload's entities: which answer, and what the patient said of it.
ANSWER = "answer"
HELPFUL = "helpful"
REASON = "reason"
# The latest answer's id, for feedback typed later in words ("not helpful").
LAST_ANSWER_SLOT = "last_answer"
# The keys of a message that carry the question: the channels draw `FEEDBACK`; the Rasa server
# reads `TYPED_REPLIES` (connectors/processor.py: the same names there).
FEEDBACK = "feedback"
TYPED_REPLIES = "typed_replies"

QUESTION = "Was this helpful?"
YES = "Yes"
NO = "No"
# Why it did not help: short, kind, in the patient's words (the keys are the store's).
REASON_TITLES = {
    "unclear": "Hard to understand",
    "not_asked": "Not what I asked",
    "too_long": "Too long",
    "wrong": "Wrong or out of date",
}
WHAT_WAS_WRONG = "Thank you. What was wrong? You can pick one, or just carry on."
THANKS = "Thank you for telling me."
NOT_SAVED = "Sorry, I could not save that. You can still ask me anything."
TYPED_HELPFUL = "helpful"
TYPED_NOT_HELPFUL = "not helpful"
IN_THE_TERMINAL = f'Was this helpful? You can type "{TYPED_HELPFUL}" or "{TYPED_NOT_HELPFUL}".'
_TYPED_REASONS = [f'"{title[0].lower()}{title[1:]}"' for title in REASON_TITLES.values()]
WHAT_WAS_WRONG_IN_WORDS = (
    f"Thank you. What was wrong? If you like, type {', '.join(_TYPED_REASONS[:-1])} or {_TYPED_REASONS[-1]}."
)
NOTHING_TO_RATE = "Thank you. Ask me a question first. Then you can tell me if the answer helped."
# Feedback typed in words the model took for feedback, but not the exact words offered.
NEGATIVE = re.compile(
    r"\b(not|no|nope|never|unhelpful|useless|(was|were|is|are|did|does|do|has|have|ca|could|wo|would)n'?t)\b",
    re.IGNORECASE,
)
FIXED_TEXTS = (
    QUESTION,
    WHAT_WAS_WRONG,
    THANKS,
    NOT_SAVED,
    IN_THE_TERMINAL,
    WHAT_WAS_WRONG_IN_WORDS,
    NOTHING_TO_RATE,
)


def payload(answer_id: str, helpful: bool = False, reason: str | None = None) -> str:
    """The intent syntax a quick reply sends: at most 64 bytes, as Telegram allows."""
    values = (
        {ANSWER: answer_id, REASON: reason}
        if reason
        else {ANSWER: answer_id, HELPFUL: "yes" if helpful else "no"}
    )
    return f"/{INTENT}{json.dumps(values, separators=(',', ':'))}"


def reason_buttons(answer_id: str) -> list[dict[str, str]]:
    return [
        {"title": title, "payload": payload(answer_id, reason=key)} for key, title in REASON_TITLES.items()
    ]


def prompt(answer_id: str) -> dict[str, Any]:
    """What a channel draws under an answer: the question, the choices and the reasons."""
    return {
        ANSWER: answer_id,
        "question": QUESTION,
        "choices": [
            {"title": YES, HELPFUL: True, "payload": payload(answer_id, helpful=True)},
            {"title": NO, HELPFUL: False, "payload": payload(answer_id, helpful=False)},
        ],
        "reasons_question": WHAT_WAS_WRONG,
        "reasons": [
            {"title": title, REASON: key, "payload": payload(answer_id, reason=key)}
            for key, title in REASON_TITLES.items()
        ],
        "thanks": THANKS,
        "not_saved": NOT_SAVED,
    }


def under_the_answer(answer_id: str, channel: str | None) -> tuple[str, dict[str, Any]]:
    """The line to add under the answer's last message's text, and the keys to send with it."""
    if channel == TERMINAL_CHANNEL:
        typed = {TYPED_HELPFUL: payload(answer_id, True), TYPED_NOT_HELPFUL: payload(answer_id, False)}
        return f"\n{IN_THE_TERMINAL}", {TYPED_REPLIES: typed}
    return "", {FEEDBACK: prompt(answer_id)}


def row_key(row: object) -> str:
    """A row's name that stays the same from one load of the knowledge files to the next (its id
    does not): its key, under its trial's, endpoint's or follow-up's where it needs them."""
    if isinstance(row, Result):
        estimate = f"/{row.estimate}" if row.estimate else ""
        return f"{row.endpoint.trial.key}/{row.endpoint.key}/{row.arm.key}{estimate}"
    if isinstance(row, Comparison):
        arms = f"{row.experimental_arm.key}-vs-{row.comparator_arm.key}"
        measure = f"/{row.measure}" if row.measure else ""
        return f"{row.endpoint.trial.key}/{row.endpoint.key}/{arms}{measure}"
    if isinstance(row, FollowUpResult):
        return f"{row.measure.follow_up.key}/{row.measure.key}/{row.period}"
    if isinstance(row, (Arm, Endpoint, SafetyFinding)):
        return f"{row.trial.key}/{row.key}"
    if isinstance(row, GlossaryTerm):
        return row.term
    return str(getattr(row, "key", getattr(row, "id", "")))


def references(rows: Iterable[object]) -> list[RowReference]:
    """The knowledge rows an answer drew on (see answers.drawing_on), each once, in order.
    Read while the answer's session is open: the keys follow the rows' relations."""
    found: dict[tuple[str, int | None], RowReference] = {}
    for row in rows:
        table = getattr(row, "__tablename__", None)
        if table is None:
            continue
        reference = RowReference(table, getattr(row, "id", None), row_key(row))
        found.setdefault((reference.table, reference.row_id), reference)
    return list(found.values())


def conversation_of(tracker: Tracker) -> str | None:
    return conversation_hash(tracker.sender_id, os.environ.get(TOKEN_VARIABLE))


def record_in_background(record: AnswerRecord) -> None:
    """Keep the answer, on the store's thread: the answer is sent meanwhile, whatever happens."""
    url = store_url()
    WRITER.submit(lambda: record_answer(url, record), "answer")


def answer_record(
    tracker: Tracker,
    answer_id: str,
    topics: Iterable[str],
    trials: Iterable[str],
    rows: list[RowReference],
    version: str | None,
) -> AnswerRecord:
    """An answer as the feedback store keeps it: no word the patient typed."""
    trial = "+".join(dict.fromkeys(trials))
    return AnswerRecord(
        answer_id=answer_id,
        topic="+".join(dict.fromkeys(topics)) or "unknown",
        trial=trial or None,
        rows=rows,
        conversation=conversation_of(tracker),
        channel=tracker.get_latest_input_channel(),
        knowledge_version=version,
    )


def said_of_it(tracker: Tracker) -> tuple[str | None, bool, str | None]:
    """Which answer the feedback is on, whether it helped, and why not: from a quick reply's
    payload, else from the words typed, on the latest answer."""
    entities = {e.get("entity"): e.get("value") for e in tracker.latest_message.get("entities") or []}
    answer_id = entities.get(ANSWER) or tracker.get_slot(LAST_ANSWER_SLOT)
    if not isinstance(answer_id, str) or not ANSWER_ID.fullmatch(answer_id):
        answer_id = None
    reason = entities.get(REASON)
    if reason in REASONS:
        return answer_id, False, reason
    if entities.get(HELPFUL) in ("yes", "no"):
        return answer_id, entities[HELPFUL] == "yes", None
    text = (tracker.latest_message.get("text") or "").strip().strip(".!\"'").strip().casefold()
    for key, title in REASON_TITLES.items():
        if text == title.casefold():
            return answer_id, False, key
    return answer_id, not NEGATIVE.search(text), None


class ActionRecordFeedback(Action):
    """Keeps what a patient said of an answer, thanks them, and after "No" asks why (optional)."""

    def name(self) -> str:
        return "action_record_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        answer_id, helpful, reason = said_of_it(tracker)
        if answer_id is None:
            dispatcher.utter_message(text=NOTHING_TO_RATE)
            return []
        url, conversation = store_url(), conversation_of(tracker)
        WRITER.submit(lambda: record_feedback(url, answer_id, helpful, reason, conversation), "feedback")
        if helpful or reason is not None:
            dispatcher.utter_message(text=THANKS)
        elif tracker.get_latest_input_channel() == TERMINAL_CHANNEL:
            typed = {title.casefold(): payload(answer_id, reason=key) for key, title in REASON_TITLES.items()}
            dispatcher.utter_message(text=WHAT_WAS_WRONG_IN_WORDS, **{TYPED_REPLIES: typed})
        else:
            dispatcher.utter_message(text=WHAT_WAS_WRONG, buttons=reason_buttons(answer_id))
        return []
