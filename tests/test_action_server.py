"""The action server (`python -m actions.server`): the custom actions, run only for the Rasa server.

A tracker is a patient's conversation, so the server listens on loopback unless told otherwise,
runs nothing without the shared token, never repeats a request in an answer or in its log, lets
no browser call it, and refuses a body far larger than a conversation.

Each test runs the real server as a subprocess and talks HTTP to it.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from actions.database import DB_URL_VARIABLE
from actions.server import (
    INTERFACE_VARIABLE,
    MAX_REQUEST_BYTES,
    NO_TOKEN,
    NOT_AN_ACTION_CALL,
    SERVER_ERROR,
    TOKEN_VARIABLE,
    TOO_LARGE,
    NotAnActionCall,
    action_name,
    carries_token,
    inflate,
    parse_arguments,
    token_from,
)
from tests.helpers import PROJECT_ROOT, tracker_from
from tests.live_bot import ServerProcess, free_port, rasa_environment

TOKEN = "test-action-server-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
# Stands for what a patient typed: it must never come back in a response or reach the log.
CANARY = "CANARY-my-neurologist-said-7731"
OTHER_LOOPBACK = "127.0.0.2"  # a loopback address of every Linux machine that is not 127.0.0.1

QUOTING_ACTIONS = '''
from rasa_sdk import Action


class ActionQuoteThePatient(Action):
    """Fails with what the patient typed in the exception's message, as a careless library might."""

    def name(self):
        return "action_quote_the_patient"

    def run(self, dispatcher, tracker, domain):
        raise ValueError(f"could not understand {tracker.latest_message['text']!r}")
'''


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class ActionServer:
    """`python -m actions.server` in a subprocess, and HTTP requests to it."""

    def __init__(self, workdir: Path, name: str, knowledge_url: str, *arguments: str, **environment: str):
        self.port = free_port()
        # To check that a test fails without this module, put here for a moment:
        #   [sys.executable, "-m", "rasa", "run", "actions", "--port", str(self.port), *arguments]
        # (with "--actions", "actions" when `arguments` names no package).
        command = [sys.executable, "-m", "actions.server", "--port", str(self.port), *arguments]
        settings = rasa_environment(
            **{DB_URL_VARIABLE: knowledge_url, "PYTHONUNBUFFERED": "1", **environment}
        )
        for inherited in (TOKEN_VARIABLE, INTERFACE_VARIABLE):
            if inherited not in environment:
                settings.pop(inherited, None)
        health = f"http://127.0.0.1:{self.port}/health"
        self.process = ServerProcess(name, command, workdir, settings, health)

    def __enter__(self) -> ActionServer:
        self.process.start().wait()
        return self

    def __exit__(self, *_: object) -> None:
        self.process.stop()

    @property
    def log(self) -> str:
        return self.process.log.read_text(errors="replace")

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            connection.close()

    def run_action(self, call: dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
        return self.request("POST", "/webhook", json.dumps(call).encode(), headers)


def action_call(action: str, intent: str = "greet", text: str = "hello", **tracker: Any) -> dict[str, Any]:
    """What the Rasa server POSTs to run `action` after the patient typed `text`."""
    state = tracker_from(intent, text, channel="socketio").current_state()
    return {"next_action": action, "tracker": {**state, **tracker}, "domain": {}, "version": "3.6.21"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("action-server")


@pytest.fixture(scope="module")
def server(knowledge_url: str, workdir: Path) -> Iterator[ActionServer]:
    """The action server as production runs it: with a token."""
    with ActionServer(workdir, "with-token", knowledge_url, **{TOKEN_VARIABLE: TOKEN}) as running:
        yield running


@pytest.fixture(scope="module")
def server_without_token(knowledge_url: str, workdir: Path) -> Iterator[ActionServer]:
    """The action server as `make run` starts it today: no token, no interface named."""
    with ActionServer(workdir, "without-token", knowledge_url) as running:
        yield running


def refuses_connections(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


# Where it listens


def test_it_listens_on_loopback_only_unless_told_otherwise(server_without_token: ActionServer):
    with socket.create_server(("0.0.0.0", 0)) as everywhere:  # the probe reaches such a server
        assert not refuses_connections(OTHER_LOOPBACK, everywhere.getsockname()[1])

    assert refuses_connections(OTHER_LOOPBACK, server_without_token.port)
    assert server_without_token.request("GET", "/health").status == 200


def test_the_interface_can_be_named_for_docker_compose(knowledge_url: str, workdir: Path):
    with ActionServer(workdir, "all-interfaces", knowledge_url, "--interface", "0.0.0.0") as running:
        assert not refuses_connections(OTHER_LOOPBACK, running.port)


def test_the_interface_defaults_to_loopback_or_the_environment_and_the_option_wins():
    assert parse_arguments([], environment={}).interface == "127.0.0.1"
    assert parse_arguments([], environment={INTERFACE_VARIABLE: "0.0.0.0"}).interface == "0.0.0.0"
    assert parse_arguments(["--interface", "::1"], {INTERFACE_VARIABLE: "0.0.0.0"}).interface == "::1"


# The token


@pytest.mark.parametrize(
    "method, path",
    [("POST", "/webhook"), ("GET", "/actions"), ("OPTIONS", "/webhook"), ("GET", "/no-such-page")],
)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer "]
)
def test_without_the_token_every_request_but_health_gets_401(
    server: ActionServer, method: str, path: str, authorization: str | None
):
    headers = {"Authorization": authorization} if authorization is not None else {}
    body = json.dumps(action_call("action_greet", text=CANARY)).encode() if method == "POST" else None

    answer = server.request(method, path, body, headers)

    assert (answer.status, answer.json()) == (401, {"error": NO_TOKEN})
    assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_with_the_token_it_runs_the_action_asked_for(server: ActionServer):
    call = action_call("action_answer_question", "ask_relapse", "how many people relapsed on alemtuzumab?")
    assert server.run_action(call).status == 401

    answer = server.run_action(call, BEARER)

    assert answer.status == 200, answer.body
    assert any("relapse" in (message.get("text") or "") for message in answer.json()["responses"])
    assert {"event": "slot", "timestamp": None, "name": "topic", "value": "relapse"} in answer.json()[
        "events"
    ]


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "deflated"])
def test_the_rasa_server_gets_in_with_the_header_endpoints_yml_gives_it(server: ActionServer, compress: bool):
    """The Rasa server's own client, set up as `action_endpoint` in endpoints.yml will be, and
    with COMPRESS_ACTION_SERVER_REQUEST on or off."""
    from rasa.utils.endpoints import ClientResponseError, EndpointConfig

    url = f"http://127.0.0.1:{server.port}/webhook"
    with_token = EndpointConfig.from_dict({"url": url, "headers": {"Authorization": f"Bearer {TOKEN}"}})
    call = action_call("action_greet")

    answer = asyncio.run(with_token.request(json=call, method="post", compress=compress))

    assert answer["responses"], answer
    with pytest.raises(ClientResponseError) as refused:
        asyncio.run(EndpointConfig(url).request(json=call, method="post", compress=compress))
    assert refused.value.status == 401


def test_the_list_of_actions_needs_the_token(server: ActionServer):
    assert server.request("GET", "/actions").status == 401

    answer = server.request("GET", "/actions", headers=BEARER)

    assert answer.status == 200
    assert {"name": "action_answer_question"} in answer.json()


def test_health_stays_open_for_probes_while_everything_else_needs_the_token(server: ActionServer):
    answer = server.request("GET", "/health")

    assert (answer.status, answer.json()) == (200, {"status": "ok"})
    assert server.request("GET", "/actions").status == 401


def test_an_unknown_action_gets_404_naming_only_the_action_and_only_with_the_token(server: ActionServer):
    call = action_call("action_that_does_not_exist", text=CANARY)
    assert server.run_action(call).status == 401

    answer = server.run_action(call, BEARER)

    assert answer.status == 404
    assert answer.json() == {
        "error": "No registered action found for name 'action_that_does_not_exist'.",
        "action_name": "action_that_does_not_exist",
    }


def test_without_a_token_it_still_serves_but_warns_once_at_start(server_without_token: ActionServer):
    answer = server_without_token.run_action(action_call("action_greet"))

    assert answer.status == 200
    warnings = [
        line for line in server_without_token.log.splitlines() if f"{TOKEN_VARIABLE} is not set" in line
    ]
    assert len(warnings) == 1, server_without_token.log[-3000:]


def test_the_token_is_compared_exactly():
    token = TOKEN.encode()
    assert carries_token(f"Bearer {TOKEN}", token)
    assert carries_token(f"bearer {TOKEN}", token)  # the scheme is case-insensitive (RFC 7235)
    for header in (
        None,
        "",
        "Bearer",
        f"Bearer {TOKEN[:-1]}",
        f"Bearer {TOKEN} x",
        f"Token {TOKEN}",
        "Bearer é",
    ):
        assert not carries_token(header, token), header


def test_a_blank_token_counts_as_none_so_it_cannot_let_everyone_in():
    assert token_from({TOKEN_VARIABLE: " \n"}) is None
    assert token_from({}) is None
    assert token_from({TOKEN_VARIABLE: f"{TOKEN}\n"}) == TOKEN.encode()


# Errors never repeat the request


@pytest.mark.parametrize(
    "body, headers",
    [
        (b"", {}),
        (f'["{CANARY}"]'.encode(), {}),
        (f'"{CANARY}"'.encode(), {}),
        (b"{}", {}),
        (f'{{"{CANARY}": 1}}'.encode(), {}),
        (f"{{not json {CANARY}".encode(), {}),
        (("[" * 100_000 + f'"{CANARY}"' + "]" * 100_000).encode(), {}),
        (json.dumps({"tracker": {"text": CANARY}}).encode(), {}),
        (json.dumps({"next_action": "action_greet"}).encode(), {}),
        (json.dumps({"next_action": ["action_greet"], "tracker": {}}).encode(), {}),
        (json.dumps({"next_action": "action_greet", "tracker": CANARY}).encode(), {}),
        (json.dumps({"next_action": "action_greet", "tracker": {}, "domain": CANARY}).encode(), {}),
        (CANARY.encode(), {"Content-Encoding": "deflate"}),
        (zlib.compress(f"[{CANARY}]".encode()), {"Content-Encoding": "deflate"}),
    ],
    ids=[
        "empty", "list", "string", "empty object", "no next_action", "invalid JSON", "deeply nested",
        "no next_action with a tracker", "no tracker", "next_action not a name", "tracker not an object",
        "domain not an object", "not deflated", "deflated list",
    ],
)  # fmt: skip
def test_a_body_that_is_not_an_action_call_gets_400_saying_only_that(
    server: ActionServer, body: bytes, headers: dict[str, str]
):
    answer = server.request(
        "POST", "/webhook", body, {**BEARER, "Content-Type": "application/json", **headers}
    )

    assert (answer.status, answer.json()) == (400, {"error": NOT_AN_ACTION_CALL})
    assert CANARY not in server.log


def test_an_action_that_fails_gets_500_with_a_fixed_message_and_the_log_names_only_action_and_error(
    server: ActionServer,
):
    # A tracker no Rasa server sends: the intent is a number where a dict should be. (A slot of
    # the wrong type no longer does it: the actions ignore such a slot, see test_actions.py.)
    broken = {"text": CANARY, "intent": 7731, "entities": []}
    call = action_call("action_answer_question", "ask_relapse", CANARY, latest_message=broken)

    answer = server.run_action(call, BEARER)

    assert (answer.status, answer.json()) == (500, {"error": SERVER_ERROR})
    assert CANARY not in server.log
    assert "The action action_answer_question failed: AttributeError at " in server.log


def test_an_exception_that_quotes_the_patient_never_reaches_the_log(knowledge_url: str, workdir: Path):
    (workdir / "quoting_actions.py").write_text(QUOTING_ACTIONS)
    search_path = os.pathsep.join([str(workdir), str(PROJECT_ROOT)])
    quoting = ActionServer(
        workdir, "quoting", knowledge_url, "--actions", "quoting_actions", PYTHONPATH=search_path
    )
    with quoting as running:
        answer = running.run_action(action_call("action_quote_the_patient", text=CANARY))

        assert (answer.status, answer.json()) == (500, {"error": SERVER_ERROR})
        assert "The action action_quote_the_patient failed: ValueError at " in running.log
        assert CANARY not in running.log


def test_the_unit_checks_of_an_action_call():
    assert action_name({"next_action": "action_greet", "tracker": {}}) == "action_greet"
    assert action_name({"next_action": "action_greet", "tracker": {}, "domain": None}) == "action_greet"
    for call in ([], "x", None, {}, {"next_action": "", "tracker": {}}, {"next_action": "a", "tracker": []}):
        with pytest.raises(NotAnActionCall):
            action_name(call)


# No CORS


@pytest.mark.parametrize(
    "method, path, headers",
    [
        ("GET", "/health", {}),
        ("GET", "/actions", BEARER),
        ("OPTIONS", "/webhook", {**BEARER, "Access-Control-Request-Method": "POST"}),
        ("OPTIONS", "/webhook", {"Access-Control-Request-Method": "POST"}),
    ],
    ids=["health", "actions", "preflight with the token", "preflight without the token"],
)
def test_no_browser_is_let_in(server: ActionServer, method: str, path: str, headers: dict[str, str]):
    answer = server.request(method, path, headers={"Origin": "https://example.org", **headers})

    assert answer.headers["Access-Control-Allow-Origin"] is None
    assert answer.status == (401 if method == "OPTIONS" and not headers.get("Authorization") else 200)


# Size


def test_a_long_conversation_is_accepted_and_a_body_past_the_limit_is_refused_unread(server: ActionServer):
    turn = [
        {"event": "user", "text": "how many people relapsed on alemtuzumab?", "input_channel": "socketio",
         "parse_data": {"intent": {"name": "ask_relapse", "confidence": 0.98},
                        "intent_ranking": [{"name": f"intent_{i}", "confidence": 0.01} for i in range(10)]}},
        {"event": "action", "name": "action_answer_question"},
        {"event": "bot", "text": "About 35 in every 100 people relapsed. " * 20},
        {"event": "action", "name": "action_listen"},
    ]  # fmt: skip
    events = turn * (MAX_REQUEST_BYTES * 3 // 4 // len(json.dumps(turn)))
    long_call = action_call("action_answer_question", "ask_relapse", "and on interferon?", events=events)
    assert len(json.dumps(long_call)) > MAX_REQUEST_BYTES // 2
    assert server.run_action(long_call, BEARER).status == 200

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest("POST", "/webhook")
        for name, value in {**BEARER, "Content-Length": str(MAX_REQUEST_BYTES + 1)}.items():
            connection.putheader(name, value)
        connection.endheaders()  # and no body: the server must answer without reading one
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())) == (413, {"error": "Request Entity Too Large"})
    finally:
        connection.close()


def test_a_deflated_call_is_run_and_may_not_inflate_past_the_limit(server: ActionServer):
    deflated = {**BEARER, "Content-Encoding": "deflate"}
    small = zlib.compress(json.dumps(action_call("action_greet")).encode())
    assert server.request("POST", "/webhook", small, deflated).status == 200

    padding = " " * MAX_REQUEST_BYTES  # inflates to just past the limit from a few kilobytes
    bomb = zlib.compress(json.dumps(action_call("action_greet", text=CANARY)).encode() + padding.encode())
    answer = server.request("POST", "/webhook", bomb, deflated)

    assert (answer.status, answer.json()) == (413, {"error": TOO_LARGE})
    assert len(bomb) < 100_000


def test_inflating_stops_at_the_limit():
    assert inflate(zlib.compress(b"x" * 10), limit=10) == b"x" * 10
    with pytest.raises(OverflowError):
        inflate(zlib.compress(b"x" * 11), limit=10)
    with pytest.raises(NotAnActionCall):
        inflate(b"not deflated")
