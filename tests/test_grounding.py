"""The grounding rule: every number in every message the bot can send exists in the knowledge
store, and no trial figure is written into the domain's responses or the Python code.

A number "exists in the store" when a row holds it, in a numeric field or in its text. A
percentage may also be said as whole people in every 100 (46.7% as "about 47 in every 100"),
and a yearly rate per person as events for every 100 people (0.26 as "about 26"): both are
recomputed here independently of the phrasing code, and so may the gap between two groups'
figures of one result, said the same way (65.4% and 46.7% as "about 19 more people out of 100"). The other numbers a message may hold are
the deployment's configuration, not figures: the emergency contact ("call 999, 112 or 911", from
knowledge/red_flags.yml or $EMERGENCY_CONTACT) and the days a conversation is kept
($CONVERSATION_RETENTION_DAYS), both filled in by the Rasa server.
"""

from __future__ import annotations

import ast
import codecs
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable

import pytest
import yaml
from sqlalchemy import inspect, select

from actions.models import Base, Comparison, Endpoint, FollowUpResult, Result, Trial
from actions.store import KnowledgeStore
from connectors.conversations import retention_days
from connectors.responses import emergency_contact, fixed_replies
from tests.helpers import PROJECT_ROOT, every_picture
from tests.stories import plain_text, test_conversations

NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![A-Za-z])")  # "beta-1a", "CD52" are names
DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())


def as_number(value: float | str) -> Decimal:
    return Decimal(str(value)).normalize()


def whole(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP).normalize()


def numbers_in(text: str) -> list[Decimal]:
    return [as_number(match) for match in NUMBER.findall(text)]


@pytest.fixture(scope="module")
def stored_numbers(knowledge_url: str) -> set[Decimal]:
    numbers: set[Decimal] = set()
    with KnowledgeStore.open(knowledge_url) as store:
        for mapper in Base.registry.mappers:
            columns = [
                c.key
                for c in inspect(mapper.class_).column_attrs
                if not c.key.endswith("id") and c.key != "position"
            ]
            for row in store.session.execute(select(mapper.class_)).scalars():
                for name in columns:
                    value = getattr(row, name)
                    if isinstance(value, bool) or value is None:
                        continue
                    if isinstance(value, (int, float)):
                        numbers.add(as_number(abs(value)))
                    else:
                        numbers.update(numbers_in(str(value)))
                if isinstance(row, (Result, FollowUpResult)) and row.value is not None:
                    if row.unit == "percent":
                        numbers.add(whole(row.value))
                    elif row.unit == "per person per year":
                        numbers.add(whole(row.value * 100))
    # The gap between two groups of one result, said the same way ("about 16 fewer people in
    # 100"): the difference of the stored figures, rounded once.
    with KnowledgeStore.open(knowledge_url) as store:
        for endpoint in store.session.execute(select(Endpoint)).scalars():
            for scale, unit in ((1, "percent"), (100, "per person per year")):
                values = [r.value for r in endpoint.results if r.value is not None and r.unit == unit]
                numbers.update(whole(abs(a - b) * scale) for a in values for b in values if a != b)
    numbers.add(Decimal(100))  # "in every 100 people"
    # Not trial figures: the default emergency numbers, and how many days a conversation is kept.
    numbers.update(numbers_in(emergency_contact()))
    numbers.add(Decimal(retention_days()))
    return numbers


def ungrounded(texts: Iterable[str], stored: set[Decimal]) -> list[tuple[str, str]]:
    return [(str(n), text) for text in texts for n in numbers_in(text) if n not in stored]


def raw_domain_texts() -> list[str]:
    """The responses as written in domain.yml and the fixed replies, before anything is filled in."""
    found = []
    for variants in [*DOMAIN["responses"].values(), *fixed_replies().values()]:
        for variant in variants:
            found.append(variant.get("text", ""))
            found.extend(button["title"] for button in variant.get("buttons", []))
    return found


def test_domain_responses_hold_no_numbers_at_all() -> None:
    assert [t for t in raw_domain_texts() if NUMBER.search(t)] == []


def test_every_number_in_every_answer_an_action_can_give_is_in_the_store(
    every_answer_from_sqlite: list[tuple[str, str]], stored_numbers: set[Decimal]
) -> None:
    sent = [text for _, text in every_answer_from_sqlite]
    assert len(sent) > 100
    assert ungrounded(sent, stored_numbers) == []


def numbers_of(payload: object) -> list[Decimal]:
    """Every number in a picture's payload: its numeric values and the numbers in its words."""
    if isinstance(payload, dict):
        return [n for value in payload.values() for n in numbers_of(value)]
    if isinstance(payload, list):
        return [n for value in payload for n in numbers_of(value)]
    if isinstance(payload, (int, float)) and not isinstance(payload, bool):
        return [as_number(abs(payload))]
    return numbers_in(payload) if isinstance(payload, str) else []


def test_every_number_in_every_picture_an_action_can_send_is_in_the_store(
    knowledge_url: str, stored_numbers: set[Decimal]
) -> None:
    pictures = every_picture(knowledge_url)
    assert len(pictures) > 20
    made_up = [
        (where, n) for where, picture in pictures for n in numbers_of(picture) if n not in stored_numbers
    ]
    assert made_up == []


def test_the_picture_check_catches_a_made_up_number(stored_numbers: set[Decimal]) -> None:
    picture = {"groups": [{"name": "alemtuzumab 12 mg", "people": 37, "percent": "37"}], "per": 100}
    assert [n for n in numbers_of(picture) if n not in stored_numbers] == [Decimal(37), Decimal(37)]


def test_every_number_the_bot_says_in_the_test_conversations_is_in_the_store(
    live_bot, stored_numbers: set[Decimal]
) -> None:
    said: list[str] = []
    for name, steps in test_conversations().items():
        for step in steps:
            if "user" in step:
                conversation = "grounding-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name)[:50]
                replies = live_bot.say(conversation, plain_text(step["user"]))
                assert replies, f"no reply to {step['user']!r} in {name!r}"
                said.extend(reply.get("text", "") for reply in replies)
    assert len(said) > 50
    assert ungrounded(said, stored_numbers) == []


def trial_figures(knowledge_url: str) -> set[Decimal]:
    """The numbers that are trial results or design figures (not words like "12 months")."""
    figures: set[Decimal] = set()
    with KnowledgeStore.open(knowledge_url) as store:
        for result in store.session.execute(select(Result)).scalars():
            figures.update(
                as_number(abs(v)) for v in (result.value, result.count, result.denominator) if v is not None
            )
        for later in store.session.execute(select(FollowUpResult)).scalars():
            figures.add(as_number(abs(later.value)))
        for comparison in store.session.execute(select(Comparison)).scalars():
            values = (
                comparison.value,
                comparison.ci_lower,
                comparison.ci_upper,
                comparison.relative_change,
                comparison.p_value,
            )
            figures.update(as_number(v) for v in values if v is not None)
        for trial in store.session.execute(select(Trial)).scalars():
            figures.update(as_number(a.people_analysed) for a in trial.arms if a.people_analysed)
            if trial.people_randomised:
                figures.add(as_number(trial.people_randomised))
    return figures - {Decimal(0), Decimal(1), Decimal(100)}


def is_codec_name(text: str) -> bool:
    """ "utf-8" names a text encoding, not a figure (8.0% is one, since CARE-MS I)."""
    try:
        codecs.lookup(text)
    except LookupError:
        return False
    return True


def test_no_trial_figure_is_written_in_the_python_code(knowledge_url: str) -> None:
    """Numbers in strings are all checked; single-digit integer constants are how code counts
    things ("show 3 topics"), not figures, so they are not."""
    figures = trial_figures(knowledge_url)
    found = []
    for path in sorted((PROJECT_ROOT / "actions").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, (int, float))
                and not isinstance(node.value, bool)
            ):
                is_small_count = isinstance(node.value, int) and abs(node.value) < 10
                candidates = [] if is_small_count else [as_number(abs(node.value))]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                candidates = [] if is_codec_name(node.value) else numbers_in(node.value)
            else:
                continue
            found.extend(f"{path.name}:{node.lineno}: {n}" for n in candidates if n in figures)
    assert found == []


def test_the_grounding_check_catches_a_made_up_number(stored_numbers: set[Decimal]) -> None:
    assert ungrounded(["About 37 in every 100 people relapsed."], stored_numbers) == [
        ("37", "About 37 in every 100 people relapsed.")
    ]
