"""How the Rasa server is started (connectors/server.py): on loopback unless told otherwise, with
limits on what a request may be, and with the project's pieces in Rasa's place."""

from __future__ import annotations

import pytest
import rasa.core.actions.action
import rasa.core.agent
import rasa.core.run
from sanic import Sanic

from connectors.processor import FailSafeRemoteAction, SafeMessageProcessor
from connectors.server import (
    MAX_REQUEST_BYTES,
    REQUEST_SECONDS,
    harden,
    install,
    rasa_arguments,
    trusted_proxies,
)


def test_the_server_listens_on_loopback_unless_told_otherwise() -> None:
    assert rasa_arguments(["--port", "5005"], {}) == [
        "rasa",
        "run",
        "--port",
        "5005",
        "--interface",
        "127.0.0.1",
    ]
    assert rasa_arguments([], {"RASA_INTERFACE": "0.0.0.0"})[-2:] == ["--interface", "0.0.0.0"]
    for given in (["--interface", "10.0.0.5"], ["-i", "10.0.0.5"], ["--interface=10.0.0.5"]):
        assert rasa_arguments(given, {}) == ["rasa", "run", *given]


@pytest.mark.parametrize("value, proxies", [(None, 0), ("", 0), ("1", 1), ("2", 2)])
def test_the_client_s_address_is_taken_from_as_many_proxies_as_are_trusted(value, proxies) -> None:
    assert trusted_proxies({} if value is None else {"TRUSTED_PROXIES": value}) == proxies


@pytest.mark.parametrize("value", ["yes", "-1", "1.5"])
def test_a_trusted_proxy_count_that_is_not_a_number_stops_the_start(value: str) -> None:
    with pytest.raises(SystemExit, match="TRUSTED_PROXIES"):
        trusted_proxies({"TRUSTED_PROXIES": value})


def test_requests_are_bounded_in_size_and_in_time() -> None:
    app = harden(Sanic(f"test_{id(object())}"), {"TRUSTED_PROXIES": "1"})
    assert app.config.REQUEST_MAX_SIZE == MAX_REQUEST_BYTES == 64 * 1024
    assert app.config.REQUEST_TIMEOUT == REQUEST_SECONDS <= 30
    assert app.config.PROXIES_COUNT == 1


def test_installing_puts_the_fail_safe_pieces_in_rasa_s_place_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.actions.action import RemoteAction

    from connectors import action_responses

    # Put back what was there after the test: the rest of this process runs Rasa as it comes.
    monkeypatch.setattr(rasa.core.agent, "MessageProcessor", rasa.core.agent.MessageProcessor)
    monkeypatch.setattr(rasa.core.run, "configure_app", rasa.core.run.configure_app)
    monkeypatch.setattr(
        rasa.core.actions.action, "action_for_name_or_text", rasa.core.actions.action.action_for_name_or_text
    )
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    assert action_responses  # installed too
    install()
    install()
    assert rasa.core.agent.MessageProcessor is SafeMessageProcessor
    assert RemoteAction._validate_action_result is action_responses.validate_action_result
    assert getattr(rasa.core.run.configure_app, "hardened", False)
    looked_up = rasa.core.actions.action.action_for_name_or_text
    assert looked_up.fail_safe and not getattr(looked_up.__closure__[0].cell_contents, "fail_safe", False)
    from rasa.shared.core.domain import Domain

    domain = Domain.from_dict({"actions": ["action_answer_question"]})
    assert isinstance(looked_up("action_answer_question", domain, None), FailSafeRemoteAction)
