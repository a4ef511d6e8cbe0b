"""Content due for review: the report's side of issue 17's part 1.

Part 1 records, in the knowledge store, when each knowledge file (or entry) was last reviewed, by
which role, and when its next review is due; its loader lists what falls due within 30 days. This
section of the report is to show the same list. Until part 1 is merged it says it is not
available: fill in `content_due_for_review_section` there (it is given the day the report is made).
"""

from __future__ import annotations

from datetime import date

HEADING = "## Content due for review"
NOT_AVAILABLE = "Not available yet: the knowledge store does not record review dates (issue 17, part 1)."


def content_due_for_review_section(today: date) -> str:
    """The report's section on content due for review within 30 days of `today`, as Markdown,
    heading included. A placeholder until the knowledge store records review dates."""
    return f"{HEADING}\n\n{NOT_AVAILABLE}\n"
