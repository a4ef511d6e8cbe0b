"""Plain language: every message the bot can send scores at most grade 6 on the Flesch-Kincaid
scale (about 5 on average), and every relative figure is paired with the absolute figures it
comes from.

Web addresses, and the bars of symbols a picture's text table draws, are left out of the
score: nobody reads them as words. So are labels of four
words or fewer (button titles such as "Disability"): the Flesch-Kincaid formula needs sentences,
and gives a one-word label a meaningless grade above 40.
"""

from __future__ import annotations

import json
import re

import pytest
import textstat
import yaml

from tests.helpers import PROJECT_ROOT, domain_texts

MAXIMUM_GRADE = 6.0
AVERAGE_GRADE = 5.0
WEB_ADDRESS = re.compile(r"https?://\S+")
SHORTEST_SCORED = 5  # words
RELATIVE_FIGURE = re.compile(r"\d+(\.\d+)?% (lower|higher)")
# "about 35 in 100 people", "about 26 relapses a year in a group of 100 people"
ABSOLUTE_FIGURE = re.compile(r"\babout \d+ [^.]*\b100 people\b")
SCORES_FILE = PROJECT_ROOT / "results" / "readability.json"
DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())


BAR = re.compile(r"[●○]+ ")  # a picture's text table draws people as a bar of symbols: not words


def grade(text: str) -> float:
    return textstat.flesch_kincaid_grade(BAR.sub("", WEB_ADDRESS.sub("", text)))


@pytest.fixture(scope="module")
def messages(every_answer_from_sqlite: list[tuple[str, str]]) -> list[tuple[str, str]]:
    found = every_answer_from_sqlite + domain_texts(DOMAIN)
    return [(where, text) for where, text in found if len(text.split()) >= SHORTEST_SCORED]


def test_every_message_is_at_most_grade_6(messages: list[tuple[str, str]]) -> None:
    grades = [grade(text) for _, text in messages]
    SCORES_FILE.parent.mkdir(parents=True, exist_ok=True)
    SCORES_FILE.write_text(
        json.dumps(
            {"messages": len(grades), "mean_grade": sum(grades) / len(grades), "highest_grade": max(grades)}
        )
    )
    too_hard = sorted(
        ((g, where, text) for g, (where, text) in zip(grades, messages, strict=True) if g > MAXIMUM_GRADE),
        reverse=True,
    )
    assert too_hard == [], "\n".join(f"{g:.1f} {where}: {text}" for g, where, text in too_hard)


def test_messages_average_grade_5_or_below(messages: list[tuple[str, str]]) -> None:
    mean = sum(grade(text) for _, text in messages) / len(messages)
    assert mean <= AVERAGE_GRADE, f"mean grade {mean:.1f}"


def test_every_relative_figure_comes_with_absolute_ones(messages: list[tuple[str, str]]) -> None:
    relative_only = [
        text for _, text in messages if RELATIVE_FIGURE.search(text) and not ABSOLUTE_FIGURE.search(text)
    ]
    assert relative_only == []
