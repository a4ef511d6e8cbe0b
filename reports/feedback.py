"""Feedback on answers, by topic: the report's side of issue 17's part 2.

Part 2 stores a patient's "Was this helpful? Yes / No", with an optional reason, for each answer,
with the answer's topic and trial and never the patient's words. This module is where the report
reads it. Until that store exists, `feedback_rows` finds none configured and the report says so.

To wire the store in, make `feedback_rows` return its rows in the date range (an empty list when
it holds none): nothing else in the report changes.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Mapping

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
    """The feedback given from `since` up to `until`; None when no feedback store is configured.

    Not wired yet: part 2 of issue 17 adds the store. Returns None."""
    return None


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
