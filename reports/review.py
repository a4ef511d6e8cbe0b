"""Content due for review: which knowledge files fall due within 30 days, or are past their date.

The knowledge store records each file's last check, how it was done, by which role and when the
next review is due (`actions.reviews`); the loader prints the same list when it loads. The report
shows every file, the soonest due first, so the content team plans reviews from one place.
"""

from __future__ import annotations

from datetime import date

from actions.database import StoreUnavailable
from actions.models import ContentReview
from actions.reviews import DUE_SOON_DAYS, SOURCE_CHECK, due_soon
from actions.store import KnowledgeStore

HEADING = "## Content due for review"
NOT_AVAILABLE = "The knowledge store could not be read, so review dates are not shown."


def content_due_for_review_section(today: date, knowledge_url: str | None = None) -> str:
    """The report's section on review dates as Markdown, heading included, judged on `today`.
    `knowledge_url` defaults to the knowledge store the action server reads."""
    try:
        with KnowledgeStore.open(knowledge_url) as store:
            reviews = store.reviews()
            return f"{HEADING}\n\n{_describe(reviews, today)}"
    except StoreUnavailable:
        return f"{HEADING}\n\n{NOT_AVAILABLE}\n"


def _describe(reviews: list[ContentReview], today: date) -> str:
    due = {review.file for review in due_soon(reviews, today)}
    overdue = [review for review in reviews if review.next_review_due < today]
    pending = [review for review in reviews if review.kind == SOURCE_CHECK]
    lines = [
        f"{len(due)} of {len(reviews)} knowledge files fall due within {DUE_SOON_DAYS} days of {today}"
        + (f"; {len(overdue)} are past their date." if overdue else "."),
        f"{len(pending)} were checked against their sources only and await a clinician's review.",
        "",
        "| file | last checked | how | by | next review due | status |",
        "|---|---|---|---|---|---|",
    ]
    for review in reviews:
        if review.next_review_due < today:
            status = "**overdue**" + (" (loaded on purpose)" if review.override_reason else "")
        elif review.file in due:
            status = f"due within {DUE_SOON_DAYS} days"
        else:
            status = ""
        lines.append(
            f"| `{review.file}` | {review.reviewed_on} | {review.kind} | {review.reviewed_by} "
            f"| {review.next_review_due} | {status} |"
        )
    return "\n".join(lines) + "\n"
