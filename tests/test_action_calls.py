"""A custom action call carries what the actions read, the same as Rasa's full call gives them,
and not the conversation's history or the domain."""

from __future__ import annotations

import ast
import asyncio
import json

from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from rasa_sdk import Tracker

from connectors.action_calls import close_connections
from connectors.processor import FailSafeRemoteAction
from tests.helpers import PROJECT_ROOT
from tests.live_bot import free_port

DOMAIN = Domain.load(str(PROJECT_ROOT / "domain.yml"))
ENDPOINT = EndpointConfig("http://localhost:5055/webhook")
# What the project's actions may read of a tracker: all of it is in the call.
READABLE = {
    "latest_message",
    "slots",
    "get_slot",
    "get_latest_input_channel",
    "get_latest_entity_values",
    "sender_id",
}


def message(text: str, intent: str) -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 0.9}, [], input_channel="socketio")


def two_turns() -> DialogueStateTracker:
    events = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        message("how many relapsed on lemtrada", "ask_relapse"),
        ActionExecuted("action_answer_question"),
        BotUttered("In the CARE-MS II trial, ..."),
        SlotSet("topic", "relapse"),
        SlotSet("trial", ["care_ms_ii"]),
        ActionExecuted("action_listen"),
        message("and for people new to treatment?", "ask_relapse"),
    ]
    return DialogueStateTracker.from_events("patient", events, slots=DOMAIN.slots)


def test_the_call_carries_this_turn_and_the_state_but_not_the_history_or_the_domain() -> None:
    tracker = two_turns()
    call = FailSafeRemoteAction("action_answer_question", ENDPOINT)._action_call_format(tracker, DOMAIN)
    full = RemoteAction("action_answer_question", ENDPOINT)._action_call_format(tracker, DOMAIN)

    assert "domain" in full and "domain" not in call
    assert [event["event"] for event in call["tracker"]["events"]] == ["user"]
    assert call["tracker"]["events"][0]["text"] == "and for people new to treatment?"
    assert "how many relapsed" not in json.dumps(call)
    assert {key: value for key, value in full.items() if key not in ("tracker", "domain")} == {
        key: value for key, value in call.items() if key != "tracker"
    }
    assert {key: value for key, value in full["tracker"].items() if key != "events"} == {
        key: value for key, value in call["tracker"].items() if key != "events"
    }
    assert len(json.dumps(call)) < len(json.dumps(full)) / 4


def test_the_actions_see_the_same_slots_message_and_channel_as_from_the_full_call() -> None:
    tracker = two_turns()
    call = FailSafeRemoteAction("action_answer_question", ENDPOINT)._action_call_format(tracker, DOMAIN)
    full = RemoteAction("action_answer_question", ENDPOINT)._action_call_format(tracker, DOMAIN)
    seen, wanted = Tracker.from_dict(call["tracker"]), Tracker.from_dict(full["tracker"])
    assert seen.slots == wanted.slots and seen.get_slot("trial") == ["care_ms_ii"]
    assert seen.latest_message == wanted.latest_message
    assert seen.get_latest_input_channel() == wanted.get_latest_input_channel() == "socketio"
    assert list(seen.get_latest_entity_values("trial")) == list(wanted.get_latest_entity_values("trial"))


def test_a_conversation_not_yet_started_sends_what_it_has() -> None:
    tracker = DialogueStateTracker.from_events(
        "patient", [ActionExecuted("action_listen")], slots=DOMAIN.slots
    )
    call = FailSafeRemoteAction("action_session_start", ENDPOINT)._action_call_format(tracker, DOMAIN)
    assert [event["event"] for event in call["tracker"]["events"]] == ["action"]


def tracker_reads(path) -> set[str]:
    """What a module reads of any `tracker` it is given: `tracker.<name>`."""
    tree = ast.parse(path.read_text())
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "tracker"
    }


def test_the_actions_read_only_what_the_call_carries() -> None:
    read = {name for path in sorted((PROJECT_ROOT / "actions").glob("*.py")) for name in tracker_reads(path)}
    assert "latest_message" in read  # the check sees the actions' reads
    assert read <= READABLE, (
        f"The actions now read {sorted(read - READABLE)} of the tracker, which the action call "
        "does not carry in full (connectors/action_calls.py): send it, then widen READABLE."
    )


async def _calls(port: int, calls: int, restart_before_last: bool = False) -> set[int]:
    """The client ports a webhook saw over `calls` action calls (optionally restarting it)."""
    seen: set[int] = set()

    async def webhook(request: web.Request) -> web.Response:
        seen.add(request.transport.get_extra_info("peername")[1])
        return web.json_response({"events": [], "responses": []})

    async def serve() -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner

    endpoint = FailSafeRemoteAction(
        "action_answer_question", EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    )
    runner = await serve()
    for call in range(calls):
        if restart_before_last and call == calls - 1:
            await runner.cleanup()
            runner = await serve()
        assert await endpoint.action_endpoint.request(json={"next_action": "x"}, method="post") == {
            "events": [],
            "responses": [],
        }
    await runner.cleanup()
    await close_connections()
    return seen


def test_action_calls_share_one_connection_between_turns() -> None:
    assert len(asyncio.run(_calls(free_port(), calls=5))) == 1


def test_a_restarted_action_server_is_still_reached() -> None:
    assert len(asyncio.run(_calls(free_port(), calls=3, restart_before_last=True))) == 2
