"""The Rasa server checks the action server's answers exactly as Rasa does, with the schema
validator built once instead of on every answer (it was 35% of the server's busy time)."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from connectors.action_responses import RASA_VALIDATION, install, validate_action_result

ACTION = RemoteAction("action_answer_question", None)

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "topic", "value": "relapse"}], "responses": [{"text": "35%"}]},
    {"events": [{"event": "action", "name": "action_listen"}, {"event": "followup", "name": "x"}]},
]
INVALID = [
    {"events": "not a list"},
    {"events": [{"name": "topic"}]},
    {"events": [{"event": "slot", "name": 3}]},
    {"events": [], "responses": ["not an object"]},
    {"events": [{"event": "no-such-event"}]},
]


@pytest.fixture(autouse=True)
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check as the Rasa server has it (`connectors.server.install`), put back afterwards."""
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    install()


def test_the_server_uses_the_validator_built_once() -> None:
    assert RemoteAction._validate_action_result is validate_action_result


@pytest.mark.parametrize("response", VALID)
def test_a_valid_answer_is_accepted_as_rasa_accepts_it(response: dict) -> None:
    assert RASA_VALIDATION(ACTION, response) is True
    assert ACTION._validate_action_result(response) is True


@pytest.mark.parametrize("response", INVALID)
def test_an_invalid_answer_is_refused_with_rasa_s_own_message(response: dict) -> None:
    with pytest.raises(ValidationError) as rasa_refusal:
        RASA_VALIDATION(ACTION, response)
    with pytest.raises(ValidationError) as our_refusal:
        ACTION._validate_action_result(response)
    assert our_refusal.value.message == rasa_refusal.value.message
    assert "Failed to validate Action server response" in our_refusal.value.message


# One event of each kind as the actions send them, and values to put in their fields.
EVENTS = [
    {
        "event": "user",
        "text": "hi",
        "parse_data": {"intent": {"name": "greet", "confidence": 1.0}, "entities": []},
    },
    {"event": "action", "name": "action_listen", "policy": None, "confidence": None},
    {"event": "slot", "name": "topic", "value": "relapse", "timestamp": None},
    {"event": "entities", "entities": [{"entity": "trial", "value": "care_ms_ii", "start": 0, "end": 3}]},
    {"event": "bot", "text": "35%", "data": {"buttons": []}, "metadata": {}},
    {"event": "session_started"},
    {"event": "followup", "name": "action_answer_question"},
    {"event": "reset_slots"},
    {"event": "rewind"},
]
ODD_VALUES = [None, 3, 1.5, "x", [], {}, [{}], {"name": 3}, True]


def variants() -> list[object]:
    """Each event alone and in pairs, then with each field (and `event` itself) set to each odd value."""
    found: list[object] = [[event] for event in EVENTS] + [EVENTS, [EVENTS[0], "not an event"], [3]]
    for event in EVENTS:
        for name in [*event, "timestamp", "metadata", "unknown"]:
            for value in ODD_VALUES:
                found.append([{**event, name: value}])
        found.append([{key: value for key, value in event.items() if key != "event"}])
    return found


def test_every_kind_of_event_is_judged_as_rasa_judges_it() -> None:
    from connectors.action_responses import event_checks, passes, response_validator

    assert event_checks() is not None  # the per-event checks are in use with this Rasa
    judged = {True: 0, False: 0}
    for events in variants():
        response = {"events": events, "responses": [{"text": "x"}]}
        expected = response_validator().is_valid(response)  # Rasa's schema, checked in full
        assert passes(response) is expected, response
        judged[expected] += 1
    assert judged[True] > 50 and judged[False] > 50
