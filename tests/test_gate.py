"""The gate every message passes on every channel: what it refuses, and that whatever happens
behind it, the patient is answered, and someone describing an emergency first of all.

These drive `connectors.gate.Gate` with Rasa's own output channel and a stand-in for Rasa behind
the gate (`on_new_message`), so each failure can be made to happen: Rasa raising, hanging, saying
nothing, or saying the urgent reply itself. The live channels are tested in test_hostile_input.py.
"""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any, Awaitable, Callable

import pytest
import yaml
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from connectors import gate as gate_module
from connectors.gate import (
    MAX_MESSAGE_CHARACTERS,
    Gate,
    Outcome,
    RateLimits,
    Refused,
    TokenBucket,
    conversation_id,
    message_metadata,
    message_text,
)
from connectors.responses import ServerResponses
from safety.red_flags import red_flag_checker
from tests.helpers import PROJECT_ROOT

RESPONSES = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["responses"]
CHEST_PAIN = "I have crushing chest pain right now"
QUESTION = "how many people relapsed on alemtuzumab?"
ANSWER = "About 35 in every 100 people on alemtuzumab had a relapse."
CANARY = "zebra-canary-7731"


def rendered(response: str, **slots: Any) -> str:
    text = ServerResponses(responses=RESPONSES).generate_from_slots(response, slots, "rest")["text"]
    assert "{" not in text, f"{response} left a placeholder unfilled: {text}"
    return text


URGENT = rendered("utter_urgent_help", red_flag="chest_pain")
CANNOT_LOOK_UP = rendered("utter_cannot_look_up")
TOO_LONG = rendered("utter_message_too_long")
SLOW_DOWN = rendered("utter_slow_down")
DELETED = rendered("utter_conversation_deleted")


class Rasa:
    """A stand-in for Rasa behind the gate: it answers, or fails in the way a test asks."""

    def __init__(self, behaviour: Callable[[UserMessage], Awaitable[None]] | None = None) -> None:
        self.received: list[UserMessage] = []
        self.behaviour = behaviour or self.answer

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        await self.behaviour(message)

    @staticmethod
    async def answer(message: UserMessage) -> None:
        await message.output_channel.send_response(message.sender_id, {"text": ANSWER})


def a_gate(limits: RateLimits | None = None, turn_seconds: float = 1.0, deleted: list | None = None) -> Gate:
    agent = SimpleNamespace(nlg=ServerResponses(responses=RESPONSES))
    app = SimpleNamespace(ctx=SimpleNamespace(agent=agent))
    gate = Gate(app, red_flag_checker(), limits, turn_seconds=turn_seconds)  # type: ignore[arg-type]
    return gate


def said(
    gate: Gate, rasa: Rasa, text: str, sender: str = "patient-1", client: str = "10.0.0.1"
) -> tuple[list[str], Outcome]:
    output = CollectingOutputChannel()
    outcome = asyncio.run(gate.handle(rasa, text, output, sender, "rest", None, client))
    return [message["text"] for message in output.messages], outcome


# What the channels refuse before anything is stored.
@pytest.mark.parametrize(
    "value", ["nul\x00x", "", " ", None, 5.5, True, "a" * 65, "x y", "ü", "../x", ["a"], {"a": 1}]
)
def test_only_a_well_formed_conversation_id_is_taken(value: Any) -> None:
    with pytest.raises(Refused):
        conversation_id(value)


@pytest.mark.parametrize(
    "value, taken",
    [("patient-1", "patient-1"), ("a" * 64, "a" * 64), (-100123, "-100123"), ("U024_BE7LH", "U024_BE7LH")],
)
def test_well_formed_ids_and_telegram_s_numeric_chat_ids_are_taken(value: Any, taken: str) -> None:
    assert conversation_id(value) == taken


@pytest.mark.parametrize("value", [None, "", "   ", 5, ["hi"], {"text": "hi"}, "hi\x00there"])
def test_a_message_must_be_text_with_something_in_it(value: Any) -> None:
    with pytest.raises(Refused):
        message_text(value)


def test_metadata_is_nothing_or_a_small_json_object() -> None:
    assert message_metadata(None) is None
    assert message_metadata({"page": "faq"}) == {"page": "faq"}
    for value in (["a"], "text", {"blob": "x" * 60_000}):
        with pytest.raises(Refused):
            message_metadata(value)


# An ordinary turn.
def test_a_question_is_handed_to_rasa_and_its_answer_reaches_the_patient() -> None:
    rasa = Rasa()
    texts, outcome = said(a_gate(), rasa, QUESTION)
    assert texts == [ANSWER] and outcome is Outcome.ANSWERED
    assert [message.text for message in rasa.received] == [QUESTION]


# Emergencies: answered first, by the gate, whatever Rasa does.
def test_an_emergency_is_answered_at_once_and_rasa_s_own_urgent_reply_is_not_repeated() -> None:
    async def says_urgent_help_too(message: UserMessage) -> None:
        await message.output_channel.send_response(message.sender_id, {"text": URGENT})

    texts, _ = said(a_gate(), Rasa(says_urgent_help_too), CHEST_PAIN)
    assert texts == [URGENT]


async def _raises(message: UserMessage) -> None:
    raise RuntimeError("the lock store is down")


async def _hangs(message: UserMessage) -> None:
    await asyncio.sleep(30)


async def _says_nothing(message: UserMessage) -> None:
    return None


@pytest.mark.parametrize("failure", [_raises, _hangs, _says_nothing], ids=["raises", "hangs", "says nothing"])
def test_an_emergency_is_answered_whatever_fails_behind_the_gate(failure) -> None:
    texts, _ = said(a_gate(turn_seconds=0.2), Rasa(failure), CHEST_PAIN)
    assert texts[0] == URGENT


def test_a_channel_that_answers_all_at_once_sends_urgent_help_without_waiting_for_a_slow_turn() -> None:
    """REST answers when the turn ends: for an emergency, the gate does not wait long for it."""

    async def scenario() -> float:
        started = asyncio.get_running_loop().time()
        await a_gate(turn_seconds=10).handle(Rasa(_hangs), CHEST_PAIN, CollectingOutputChannel(), "p", "rest")
        return asyncio.get_running_loop().time() - started

    assert asyncio.run(scenario()) < 2.5


@pytest.mark.parametrize("failure", [_raises, _hangs, _says_nothing], ids=["raises", "hangs", "says nothing"])
def test_a_question_is_never_met_with_silence(failure) -> None:
    texts, _ = said(a_gate(turn_seconds=0.2), Rasa(failure), QUESTION)
    assert texts == [CANNOT_LOOK_UP]
    assert "urgent help" in CANNOT_LOOK_UP


def test_the_opening_notice_alone_is_not_an_answer() -> None:
    """A new conversation opens with the notice; if nothing follows, the question went unanswered."""

    async def opens_then_fails(message: UserMessage) -> None:
        notice = {"text": "Hello. I'm an automated assistant.", "utter_action": "utter_opening_notice"}
        await message.output_channel.send_response(message.sender_id, notice)

    texts, _ = said(a_gate(), Rasa(opens_then_fails), QUESTION)
    assert texts == ["Hello. I'm an automated assistant.", CANNOT_LOOK_UP]


def test_a_slow_turn_is_answered_within_the_gate_s_time_and_finishes_in_the_background() -> None:
    finished = []

    async def slow(message: UserMessage) -> None:
        await asyncio.sleep(0.3)
        finished.append(message.text)

    async def scenario() -> tuple[list[str], float]:
        gate, output = a_gate(turn_seconds=0.1), CollectingOutputChannel()
        started = asyncio.get_running_loop().time()
        await gate.handle(Rasa(slow), QUESTION, output, "patient-1", "rest")
        waited = asyncio.get_running_loop().time() - started
        await asyncio.sleep(0.4)
        return [m["text"] for m in output.messages], waited

    texts, waited = asyncio.run(scenario())
    assert texts[0] == CANNOT_LOOK_UP and waited < 0.3
    assert finished == [QUESTION]  # the record is not cut off half written


# Too long.
def test_a_message_over_the_limit_is_answered_too_long_unread_with_how_to_get_urgent_help() -> None:
    rasa = Rasa()
    texts, outcome = said(a_gate(), rasa, "how many relapsed " * 200)
    assert texts == [TOO_LONG] and outcome is Outcome.TOO_LONG
    assert rasa.received == []
    assert "urgent help" in TOO_LONG


def test_a_message_at_the_limit_is_read() -> None:
    rasa = Rasa()
    said(a_gate(), rasa, ("how many relapsed " * 200)[:MAX_MESSAGE_CHARACTERS])
    assert len(rasa.received) == 1


def test_an_emergency_inside_a_message_too_long_is_still_answered_first() -> None:
    texts, _ = said(a_gate(), Rasa(), "I wanted to ask about the trial. " * 80 + CHEST_PAIN)
    assert texts == [URGENT, TOO_LONG]


# Too fast.
def test_a_conversation_sending_too_fast_is_asked_to_slow_down_and_rasa_is_spared() -> None:
    rasa = Rasa()
    gate = a_gate(RateLimits.from_environment({}))
    outcomes = [said(gate, rasa, QUESTION, client=f"10.0.0.{n}")[1] for n in range(15)]
    assert outcomes[:10] == [Outcome.ANSWERED] * 10
    assert set(outcomes[10:]) == {Outcome.SLOWED}
    assert len(rasa.received) == 10
    texts, _ = said(gate, rasa, QUESTION, client="10.0.0.99")
    assert texts == [SLOW_DOWN] and "urgent help" in SLOW_DOWN


def test_an_emergency_from_a_conversation_sending_too_fast_is_still_answered() -> None:
    gate = a_gate(RateLimits.from_environment({}))
    for _ in range(10):
        said(gate, Rasa(), QUESTION)
    texts, outcome = said(gate, Rasa(), CHEST_PAIN)
    assert texts == [URGENT, SLOW_DOWN] and outcome is Outcome.SLOWED


def test_one_client_address_is_limited_across_conversations() -> None:
    gate = a_gate(RateLimits.from_environment({}))
    outcomes = [said(gate, Rasa(), QUESTION, sender=f"patient-{n}", client="10.9.9.9")[1] for n in range(70)]
    assert outcomes.count(Outcome.SLOWED) >= 5
    assert said(gate, Rasa(), QUESTION, sender="someone-else", client="10.1.1.1")[1] is Outcome.ANSWERED


def test_a_bucket_refills_with_time_and_forgets_full_buckets_when_too_many_keys() -> None:
    now = [0.0]
    bucket = TokenBucket(burst=2, per_second=1.0, max_keys=3, clock=lambda: now[0])
    assert [bucket.allow("a") for _ in range(3)] == [True, True, False]
    now[0] += 1.0
    assert bucket.allow("a")
    for key in "bcdef":
        bucket.allow(key)
    assert len(bucket._buckets) <= 3


def test_the_limits_can_be_switched_off_for_the_benchmarks() -> None:
    assert RateLimits.from_environment({"RATE_LIMITS": "off"}) is None


# Deleting.
def test_typing_delete_this_conversation_deletes_it_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    deleted: list[str] = []

    async def delete(agent: Any, sender: str) -> None:
        deleted.append(sender)

    monkeypatch.setattr(gate_module, "delete_conversation", delete)
    rasa = Rasa()
    texts, outcome = said(a_gate(), rasa, "Delete this conversation.")
    assert deleted == ["patient-1"] and texts == [DELETED] and outcome is Outcome.DELETED
    assert rasa.received == []


def test_a_deletion_that_fails_is_not_said_to_have_happened(monkeypatch: pytest.MonkeyPatch) -> None:
    async def delete(agent: Any, sender: str) -> None:
        raise ConnectionError("database down")

    monkeypatch.setattr(gate_module, "delete_conversation", delete)
    texts, outcome = said(a_gate(), Rasa(), "/delete")
    assert texts == [CANNOT_LOOK_UP] and outcome is Outcome.ANSWERED


# Logs.
def test_nothing_the_patient_typed_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    gate = a_gate(RateLimits.from_environment({}), turn_seconds=0.1)
    for failure in (_raises, _hangs, _says_nothing, Rasa.answer):
        said(gate, Rasa(failure), f"{CANARY} my chest hurts right now")
        said(gate, Rasa(failure), f"{CANARY} " * 300)
    assert CANARY not in caplog.text and "chest" not in caplog.text
