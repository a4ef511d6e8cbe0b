"""The report's figures: the turns in the date range, counted, and the unanswered questions that
may be shown, masked.

A question's words are shown only while the conversation record may still hold them: messages
older than `CONVERSATION_RETENTION_DAYS` (counted back from when the report is made) are counted
but never quoted, whatever the store still holds. An emergency's words are never shown at all
(`reports.turns` does not even keep them), nor those of a message taken for a possible emergency.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Iterable

from reports.masking import mask
from reports.turns import Outcome, Turn

NO_TRIAL = "(none)"  # an answer about every trial alike: the medicines, the side effects overall


@dataclass(frozen=True)
class Unanswered:
    """A question left unanswered, as the report shows it: its day, why, and its words masked."""

    day: date
    reason: str
    text: str


@dataclass
class Summary:
    since: datetime
    until: datetime
    retained_since: datetime  # the oldest message whose words may be shown
    conversations: int = 0
    turns: int = 0
    outcomes: Counter[Outcome] = field(default_factory=Counter)
    fallbacks_resolved: int = 0
    # (topic, trial) -> answers; an answer about several trials side by side counts under each.
    answered_by_topic_and_trial: Counter[tuple[str, str]] = field(default_factory=Counter)
    answered_by_topic: Counter[str] = field(default_factory=Counter)
    unanswered: list[Unanswered] = field(default_factory=list)
    unanswered_by_reason: Counter[str] = field(default_factory=Counter)
    older_than_retention: int = 0  # unanswered, counted but not quoted
    withheld_possible_emergencies: int = 0  # unanswered, never quoted
    per_day: dict[date, Counter[Outcome]] = field(default_factory=dict)

    @property
    def answered(self) -> int:
        return self.outcomes[Outcome.ANSWERED]

    @property
    def fallbacks(self) -> int:
        return self.outcomes[Outcome.FALLBACK]

    @property
    def fallback_rate(self) -> float | None:
        return self.fallbacks / self.turns if self.turns else None

    @property
    def emergencies(self) -> int:
        return self.outcomes[Outcome.EMERGENCY]

    @property
    def advice_refusals(self) -> int:
        return self.outcomes[Outcome.ADVICE]

    @property
    def unanswered_count(self) -> int:
        return sum(self.unanswered_by_reason.values())

    @property
    def trials(self) -> list[str]:
        found = {trial for _, trial in self.answered_by_topic_and_trial}
        return sorted(found - {NO_TRIAL}) + ([NO_TRIAL] if NO_TRIAL in found else [])


def summarise(
    turns: Iterable[Turn], since: datetime, until: datetime, now: datetime, retention_days: int
) -> Summary:
    """Count the turns whose message was sent from `since` up to `until`; quote (masked) the
    unanswered questions sent within `retention_days` before `now`."""
    summary = Summary(since, until, now - timedelta(days=retention_days))
    start, end, shown_from = since.timestamp(), until.timestamp(), summary.retained_since.timestamp()
    conversations: set[str] = set()
    for turn in turns:
        if not start <= turn.timestamp < end:
            continue
        day = datetime.fromtimestamp(turn.timestamp, timezone.utc).date()
        conversations.add(turn.sender)
        summary.turns += 1
        summary.outcomes[turn.outcome] += 1
        summary.per_day.setdefault(day, Counter())[turn.outcome] += 1
        if turn.outcome is Outcome.ANSWERED and turn.topic:
            summary.answered_by_topic[turn.topic] += 1
            for trial in turn.trials or (NO_TRIAL,):
                summary.answered_by_topic_and_trial[(turn.topic, trial)] += 1
        if turn.outcome is Outcome.FALLBACK and turn.resolved:
            summary.fallbacks_resolved += 1
        if not turn.unanswered:
            continue
        reason = turn.outcome.value
        summary.unanswered_by_reason[reason] += 1
        if turn.text is None or turn.emergency_suspected:
            summary.withheld_possible_emergencies += 1
        elif turn.timestamp < shown_from:
            summary.older_than_retention += 1
        else:
            summary.unanswered.append(Unanswered(day, reason, mask(turn.text)))
    summary.conversations = len(conversations)
    summary.unanswered.sort(key=lambda question: (question.day, question.reason, question.text))
    return summary
