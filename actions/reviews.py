"""Review dates of the knowledge files: read each file's `review:` block, and decide what is due.

Trusted health information says when it was last reviewed and when it is next due. Each knowledge
file with clinical content records its last check, what kind of check it was (against the
published sources, or a clinician's review), by which role (never a person's name), and when the
next review is due. The loader refuses a file past that date unless an override with a reason is
given: the override is logged, stored, and said under every answer from that file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

from actions.models import ContentReview

SOURCE_CHECK = "source check"
CLINICAL_REVIEW = "clinical review"
REVIEW_KINDS = (SOURCE_CHECK, CLINICAL_REVIEW)
REVIEW_FIELDS = ("kind", "reviewed_on", "reviewed_by", "next_review_due")
# A clinical review is signed off by a clinician: its `reviewed_by` must name a clinical role.
CLINICAL_ROLE_WORDS = ("nurse", "neurologist", "doctor", "physician", "pharmacist", "clinician", "consultant")
# How far ahead the loader warns of a review falling due.
DUE_SOON_DAYS = 30
# The longest a review may stand: a file cannot be put out of review for years by a typo.
LONGEST_REVIEW_INTERVAL_DAYS = 3 * 366


@dataclass(frozen=True)
class Overdue:
    """Loading past a next review date on purpose, and why (said in the log and the answers)."""

    reason: str


def read_review(
    data: Any, file: str, today: date, overdue: Overdue | None
) -> tuple[ContentReview | None, list[str]]:
    """A file's `review:` block as a row, and its problems (none when the row is good).

    A file past its next review date is a problem unless `overdue` is given; with it, the row
    records the reason and the time.
    """
    if data is None:
        return None, [
            "missing 'review': say when this file was last checked (reviewed_on), how (kind: "
            f"{' or '.join(REVIEW_KINDS)}), by which role (reviewed_by), and when it is next due "
            "(next_review_due)"
        ]
    if not isinstance(data, dict):
        return None, ["'review' should be a set of `field: value` lines"]
    problems = [
        f"unknown field {name!r} (expected: {', '.join(REVIEW_FIELDS)})"
        for name in sorted(set(data) - set(REVIEW_FIELDS))
    ]
    kind = data.get("kind")
    if kind not in REVIEW_KINDS:
        problems.append(f"'kind' is {kind!r}; it should be one of: {', '.join(REVIEW_KINDS)}")
    reviewed_by = data.get("reviewed_by")
    if not isinstance(reviewed_by, str) or not reviewed_by.strip():
        problems.append("missing 'reviewed_by' (a role, such as MS nurse specialist)")
    elif kind == CLINICAL_REVIEW and not any(word in reviewed_by.casefold() for word in CLINICAL_ROLE_WORDS):
        problems.append(
            f"a clinical review is signed off by a clinician; 'reviewed_by' is {reviewed_by!r}, not a "
            f"clinical role (one of: {', '.join(CLINICAL_ROLE_WORDS)})"
        )
    reviewed_on, next_due = _date(data, "reviewed_on", problems), _date(data, "next_review_due", problems)
    if reviewed_on and reviewed_on > today:
        problems.append(f"'reviewed_on' {reviewed_on} is in the future")
    if reviewed_on and next_due:
        if next_due <= reviewed_on:
            problems.append(f"'next_review_due' {next_due} should be after 'reviewed_on' {reviewed_on}")
        elif (next_due - reviewed_on).days > LONGEST_REVIEW_INTERVAL_DAYS:
            problems.append("'next_review_due' is more than three years after 'reviewed_on'")
    if next_due and next_due < today and overdue is None:
        problems.append(
            f"its next review was due on {next_due}. Review it and update 'review', or load "
            "it anyway with --allow-overdue REASON (logged, and said under every answer from it)"
        )
    if problems:
        return None, problems
    review = ContentReview(
        file=file,
        kind=kind,
        reviewed_on=reviewed_on,
        reviewed_by=" ".join(reviewed_by.split()),
        next_review_due=next_due,
    )
    if next_due < today and overdue is not None:
        review.override_reason = overdue.reason
        review.overridden_at = datetime.now(timezone.utc)
    return review, []


def _date(data: dict, name: str, problems: list[str]) -> date | None:
    value = data.get(name)
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            pass
    if not isinstance(value, date):
        problems.append(f"{name!r} should be a date written as YYYY-MM-DD, not {value!r}")
        return None
    return value


def due_soon(reviews: Iterable[ContentReview], today: date, days: int = DUE_SOON_DAYS) -> list[ContentReview]:
    """The reviews falling due within `days` of `today` (or already past), soonest first."""
    horizon = today + timedelta(days=days)
    return sorted((r for r in reviews if r.next_review_due <= horizon), key=lambda r: r.next_review_due)


def relative_path(path: Path, directory: Path) -> str:
    """A knowledge file's name as stored: its path inside the knowledge folder."""
    try:
        return path.relative_to(directory).as_posix()
    except ValueError:
        return path.name
