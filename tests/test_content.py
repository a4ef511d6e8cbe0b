"""Content: everything in the document this project started from can be asked for and answered.

`docs/sources/care-ms-ii-summary.txt` is that document. Every number in it must be said in some
answer the assistant can give, so a figure that is missing from the store, or that no topic
reaches, fails here.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.helpers import PROJECT_ROOT

SEED = PROJECT_ROOT / "docs" / "sources" / "care-ms-ii-summary.txt"
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![A-Za-z])")
# The summary's text, without the site's links after it, with units parted from figures ("12mg").
SEED_TEXT_BEFORE_LINKS = re.sub(r"(\d)mg\b", r"\1 mg", SEED.read_text().split("Read the abstract")[0])


@pytest.fixture(scope="module")
def everything_the_bot_can_say(every_answer_from_sqlite: list[tuple[str, str]]) -> str:
    """Every answer to a question (each topic for each treatment, each glossary word); not the
    opening notice or the fixed texts, which answer nothing."""
    return "\n".join(text for where, text in every_answer_from_sqlite if " / " in where)


@pytest.mark.parametrize("figure", sorted(set(NUMBER.findall(SEED_TEXT_BEFORE_LINKS)), key=float))
def test_every_figure_in_the_seed_summary_is_answerable(everything_the_bot_can_say: str, figure: str) -> None:
    assert figure in NUMBER.findall(everything_the_bot_can_say)


@pytest.mark.parametrize(
    "fact",
    [
        "interactive voice system",
        "2:1",
        "CD52",
        "monoclonal antibody",
        "lymphocytes",
        "rater-blinded",
        "first-line treatment",
        "stopped early",
        "sustained accumulation of disability",
        "secondary autoimmunity",
        "serious, but they can be treated",
        "Coles and others",
        "thyroid",
        "every 3 months",
        "at least 2 hours",
        "corticosteroids",
        "intensive care",
        "1 to 3 days",
    ],
)
def test_every_fact_of_the_seed_and_the_monitoring_guidance_is_answerable(
    everything_the_bot_can_say: str, fact: str
) -> None:
    assert fact in everything_the_bot_can_say


def test_a_second_run_has_nothing_to_install_build_or_train() -> None:
    """After `make test` built everything, the run and test commands only start things."""
    check = subprocess.run(["make", "-q", "install", "knowledge", "train"], cwd=PROJECT_ROOT)
    assert check.returncode == 0, "something is out of date: run `make test` (or make train / make knowledge)"
