"""Feedback on answers, by topic: the report's side of issue 17's part 2.

Part 2 stores a patient's "Was this helpful? Yes / No", with an optional reason, for each answer,
with the answer's topic and trial and never the patient's words, in the feedback store both
servers write (`feedback/store.py`: `FEEDBACK_STORE_URL`, else the SQLite file
`var/feedback.db`). `feedback_rows` reads it over the report's dates, the reasons in the words the
patient chose from; with no store configured (the setting not given and the default file never
made), it finds none and the report says so.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Mapping

from sqlalchemy.exc import SQLAlchemyError

from actions.feedback import REASON_TITLES
from feedback import store
from reports.events import StoreError

NOT_CONFIGURED = "No feedback store is configured, so there is no feedback to show."


@dataclass(frozen=True)
class FeedbackRow:
    """One answer's feedback: its topic, whether it helped, and the reason chosen, if any (one of
    a short fixed list, never free text)."""

    topic: str | None
    helpful: bool
    reason: str | None = None


@dataclass
class TopicFeedback:
    topic: str
    helpful: int = 0
    not_helpful: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


def feedback_rows(
    since: datetime, until: datetime, environment: Mapping[str, str] = os.environ
) -> list[FeedbackRow] | None:
    """The feedback on the answers given from `since` up to `until`, each answer's topic with the
    reason in the words the patient chose ("hard to understand"); None when no feedback store is
    configured. A store that cannot be read is a `StoreError`, as the conversation store's is."""
    if not environment.get(store.URL_VARIABLE, "").strip() and not store.DEFAULT_PATH.exists():
        return None
    try:
        found = store.feedback_by_topic(store.store_url(environment), since, until)
    except SQLAlchemyError as error:
        raise StoreError(f"The feedback store could not be read ({type(error).__name__})") from None
    return [FeedbackRow(row.topic, row.helpful, reason_in_words(row.reason)) for row in found]


def reason_in_words(reason: str | None) -> str | None:
    """A reason's key as the patient read it, in the middle of a sentence: "not what I asked"."""
    title = REASON_TITLES.get(reason) if reason else None
    return f"{title[0].lower()}{title[1:]}" if title else reason


def by_topic(rows: Iterable[FeedbackRow]) -> list[TopicFeedback]:
    """Feedback counted by topic, the topics with most "not helpful" first."""
    topics: dict[str, TopicFeedback] = {}
    for row in rows:
        topic = topics.setdefault(row.topic or "(no topic)", TopicFeedback(row.topic or "(no topic)"))
        if row.helpful:
            topic.helpful += 1
        else:
            topic.not_helpful += 1
            if row.reason:
                topic.reasons[row.reason] += 1
    return sorted(topics.values(), key=lambda topic: (-topic.not_helpful, -topic.helpful, topic.topic))
