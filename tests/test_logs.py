"""Log lines an operator can ship: JSON, and never what a patient typed.

Red-flag and personal-looking messages go through the live bot (both servers logging JSON, as
the compose stack and the manifests run them); then every line either server wrote is searched
for those words, and every line must be a JSON object with the fields an operator ships.
"""

from __future__ import annotations

import json
import logging

import pytest

from safety.log_lines import JsonLines, hashed
from tests.live_bot import LiveBot

SENDER = "logs-patient-7f3a"
PRIVATE = [
    "My name is Margaret Thistlewood",
    "my email is margaret.thistlewood@example.org",
    "call me on 07700 900123",
    "I want to kill myself",
    "I have crushing chest pain and my lips are blue",
    "/ask_relapse_rate@1.0 Thistlewood secret",
    "Should Margaret Thistlewood take ocrelizumab?",
]
# Words of those messages no log line may hold, whatever the level or format.
NEVER = [
    "Thistlewood",
    "thistlewood",
    "07700 900123",
    "900123",
    "kill myself",
    "crushing chest",
    "lips are blue",
    SENDER,
]
FIELDS = {"time", "level", "service", "logger", "event"}


def test_no_log_line_holds_what_a_patient_typed(observed: tuple[LiveBot, int, int]) -> None:
    bot, _, _ = observed
    for text in PRIVATE:
        assert bot.say(SENDER, text)
    lines = [line for log in bot.logs for line in log.read_text().splitlines() if line.strip()]
    assert lines
    leaks = [line for line in lines for word in NEVER if word in line]
    assert not leaks, leaks[:5]
    parsed = [json.loads(line) for line in lines]  # every line, or this fails
    assert all(FIELDS <= set(entry) for entry in parsed)
    assert {entry["service"] for entry in parsed} == {"rasa", "actions"}
    turns = [
        entry for entry in parsed if entry["event"] == "turn" and entry.get("conversation") == hashed_id(bot)
    ]
    assert len(turns) >= len(PRIVATE) and all(entry["seconds"] > 0 for entry in turns)
    actions = [
        entry
        for entry in parsed
        if entry["event"] == "action" and entry.get("conversation") == hashed_id(bot)
    ]
    assert actions and all(isinstance(entry["seconds"], float) and entry["action"] for entry in actions)


def hashed_id(bot: LiveBot) -> str:
    """The patient's conversation id as the servers' lines carry it (the tests' shared token)."""
    from safety.log_lines import _key
    from tests.live_bot import ACTION_SERVER_TOKEN

    return hashed(SENDER, _key({"ACTION_SERVER_TOKEN": ACTION_SERVER_TOKEN}))


@pytest.mark.parametrize(
    "logger_name, message, arguments, shipped",
    [
        ("rasa.core.processor", "Received user message 'I want to kill myself'", (), ""),
        ("rasa.core.processor", "Predicted next action '%s'", ("utter_x",), "Predicted next action '%s'"),
        ("connectors.processor", "The action %s failed", ("action_x",), "The action action_x failed"),
    ],
)
def test_only_templates_of_other_code_are_shipped(
    logger_name: str, message: str, arguments: tuple, shipped: str
) -> None:
    record = logging.LogRecord(logger_name, logging.INFO, __file__, 1, message, arguments, None)
    line = json.loads(JsonLines("rasa").format(record))
    assert line["event"] == shipped


def test_an_exception_is_shipped_as_its_type_and_place_only() -> None:
    try:
        raise ValueError("I want to kill myself")
    except ValueError:
        import sys

        record = logging.LogRecord("rasa", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = JsonLines("rasa").format(record)
    assert "kill" not in line and json.loads(line)["error"] == "ValueError"


def test_conversation_ids_are_keyed_hashes() -> None:
    assert hashed("abc", b"k1") != hashed("abc", b"k2")
    assert len(hashed("abc", b"k1")) == 16 and "abc" not in hashed("abc", b"k1")
