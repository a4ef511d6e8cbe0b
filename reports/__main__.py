"""`python -m reports` (`make report`): the content team's report, from the conversation store
`TRACKER_STORE_URL` names, over a date range (by default the last 30 days).

    python -m reports [--since 2026-11-01] [--until 2026-11-30] [--out results/report/report.md]

A day given alone means the whole of that day (UTC): `--until 2026-11-30` takes every message up
to midnight at its end. A time may be given too (`2026-11-30T12:00`, UTC unless it says
otherwise). It prints where the report is and its main counts, never what a patient typed.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Mapping

# The retention setting is read the Rasa servers' way (connectors.conversations), which imports
# Rasa: without these, its import fills the screen with TensorFlow's and SQLAlchemy's notices.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from reports.events import StoreError  # noqa: E402
from reports.report import DEFAULT_OUT, write_report  # noqa: E402

TRACKER_STORE_VARIABLE = "TRACKER_STORE_URL"
DEFAULT_DAYS = 30
NO_STORE = (
    f"{TRACKER_STORE_VARIABLE} is not set. The report reads the conversation store the Rasa servers "
    f"write: set {TRACKER_STORE_VARIABLE} to its database URL (as for `make serve`). Conversations "
    "kept in a server's memory (the default) cannot be reported on."
)


def moment(value: str, end_of_day: bool = False) -> datetime:
    """A day ("2026-11-30") or a time ("2026-11-30T12:00"), in UTC unless it says otherwise; a day
    given alone as the end of a range means the end of that day."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            return start + timedelta(days=1) if end_of_day else start
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a day (2026-11-30) or a time (2026-11-30T12:00): {value!r}"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def main(argv: list[str], environment: Mapping[str, str] = os.environ, now: datetime | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reports",
        description=(
            "Write the content team's report (Markdown and plots) from the conversation store "
            f"{TRACKER_STORE_VARIABLE} names."
        ),
    )
    parser.add_argument(
        "--since", type=moment, help=f"first day (default: {DEFAULT_DAYS} days before --until)"
    )
    parser.add_argument(
        "--until", type=lambda value: moment(value, end_of_day=True), help="last day (default: now)"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"the report's file (default: {DEFAULT_OUT})"
    )
    arguments = parser.parse_args(argv)

    now = now or datetime.now(timezone.utc)
    until = arguments.until or now
    since = arguments.since or until - timedelta(days=DEFAULT_DAYS)
    if since >= until:
        parser.error("--since must be before --until")
    url = environment.get(TRACKER_STORE_VARIABLE, "").strip()
    if not url:
        print(NO_STORE, file=sys.stderr)
        return 1
    try:
        written = write_report(url, since, until, arguments.out, now=now, environment=environment)
    except (StoreError, ValueError) as error:  # ValueError: CONVERSATION_RETENTION_DAYS unusable
        print(f"No report was written: {error}", file=sys.stderr)
        return 1
    counted = written.summary
    drawn = ", ".join(str(path) for path in written.plots.values())
    print(f"Report written to {written.report}, with {drawn}")
    print(
        f"{counted.conversations} conversations, {counted.turns} messages: {counted.answered} answered, "
        f"{counted.fallbacks} fallbacks, {counted.unanswered_count} left unanswered, "
        f"{counted.emergencies} emergencies escalated, {counted.advice_refusals} advice requests declined."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
