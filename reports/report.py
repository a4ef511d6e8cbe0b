"""Make the content team's report: read the conversation store over a date range, count, draw,
and write the Markdown beside its plots.

Nothing here logs or prints what a patient typed: `write_report` returns the summary's counts
for the command to print, and the words go only into the report file, masked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

from actions.database import DB_URL_VARIABLE
from reports import events, feedback, plots, render, review, summary, turns

DEFAULT_OUT = Path("results") / "report" / "report.md"


@dataclass(frozen=True)
class Written:
    """What was written: the report, its plots, and the figures it gives."""

    report: Path
    plots: dict[str, Path]
    summary: summary.Summary


def write_report(
    url: str,
    since: datetime,
    until: datetime,
    out: Path = DEFAULT_OUT,
    now: datetime | None = None,
    retention_days: int | None = None,
    environment: Mapping[str, str] = os.environ,
) -> Written:
    """Report on the messages sent from `since` up to `until` in the conversation store at `url`,
    into `out` (Markdown) and PNG plots beside it. `now` (default: now) and `retention_days`
    (default: `CONVERSATION_RETENTION_DAYS`, as the Rasa servers read it) decide which
    questions may be quoted."""
    now = now or datetime.now(timezone.utc)
    if retention_days is None:
        from connectors.conversations import retention_days as configured_retention_days

        retention_days = configured_retention_days(environment)
    from safety.red_flags import red_flag_checker

    checker = red_flag_checker()
    found = turns.turns_of(
        events.read_events(url, since, until), flagged=lambda text: bool(checker.check_all(text))
    )
    counted = summary.summarise(found, since, until, now, retention_days)
    drawn = plots.draw(counted, out.parent)
    text = render.markdown(
        counted,
        store=events.describe(url),
        made=now,
        retention_days=retention_days,
        plots=drawn,
        feedback_rows=feedback.feedback_rows(since, until, environment),
        review_section=review.content_due_for_review_section(now.date(), environment.get(DB_URL_VARIABLE)),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return Written(out, drawn, counted)
