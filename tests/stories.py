"""Read the test conversations in tests/test_stories.yml as plain messages."""

from __future__ import annotations

import re

import yaml

from tests.helpers import PROJECT_ROOT

TEST_STORIES = PROJECT_ROOT / "tests" / "test_stories.yml"
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\{[^}]*\}|\([^)]*\))")


def plain_text(annotated: str) -> str:
    """ "how many [relapsed]{...} on [Lemtrada](treatment)" -> "how many relapsed on Lemtrada" """
    return ANNOTATION.sub(r"\1", annotated).strip()


def test_conversations() -> dict[str, list[dict]]:
    """Each story's name and steps, as written."""
    stories = yaml.safe_load(TEST_STORIES.read_text())["stories"]
    return {story["story"]: story["steps"] for story in stories}


test_conversations.__test__ = False  # a helper, not a test
