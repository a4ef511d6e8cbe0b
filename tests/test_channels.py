"""Slack and Telegram, for real: the running assistant, switched on by environment settings,
talking to fake Slack and Telegram APIs on loopback (`tests/fake_chat_apis.py`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import SLACK_SIGNING_SECRET
from tests.fake_chat_apis import TELEGRAM_BOT_NAME, TELEGRAM_CHAT_ID

WAIT_SECONDS = 60  # Slack events are answered in the background; poll for at most this long
QUIET_SECONDS = 5  # how long to watch for an answer that must not come
QUESTION = "how many people relapsed on alemtuzumab?"


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, dict(answer.headers)
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers)


def slack_event(text: str, event_id: str) -> bytes:
    event = {
        "type": "message",
        "channel": "D1",
        "channel_type": "im",
        "user": "U1",
        "text": text,
        "ts": "1.0",
    }
    return json.dumps(
        {"type": "event_callback", "team_id": "T1", "event_id": event_id, "event": event}
    ).encode()


def slack_headers(body: bytes, secret: str = SLACK_SIGNING_SECRET, **extra: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}", **extra}


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return condition()


@pytest.fixture
def slack(live_bot):
    return f"{live_bot.base_url}/webhooks/slack/webhook"


def test_a_signed_slack_event_gets_the_answer_posted_to_chat_post_message(slack, fake_chat_apis) -> None:
    before = len(fake_chat_apis.posted("chat.postMessage"))
    body = slack_event(QUESTION, "Ev-signed")
    status, _ = post(slack, body, slack_headers(body))
    assert status == 200
    assert wait_for(
        lambda: any("35%" in text for text in fake_chat_apis.posted("chat.postMessage")[before:]),
        WAIT_SECONDS,
    )
    assert any("51%" in text for text in fake_chat_apis.posted("chat.postMessage")[before:])


def test_a_badly_signed_slack_event_gets_401_and_nothing_is_processed(slack, fake_chat_apis) -> None:
    before = len(fake_chat_apis.calls)
    body = slack_event("how many people had infections?", "Ev-forged")
    status, _ = post(slack, body, slack_headers(body, secret="not-the-secret"))
    assert status == 401
    assert not wait_for(lambda: len(fake_chat_apis.calls) > before, QUIET_SECONDS)


def test_a_slack_retry_does_not_produce_a_second_answer(slack, fake_chat_apis) -> None:
    body = slack_event("what was the yearly relapse rate?", "Ev-retried")
    status, _ = post(slack, body, slack_headers(body))
    assert status == 200
    assert wait_for(
        lambda: any("relapses a year" in t for t in fake_chat_apis.posted("chat.postMessage")), WAIT_SECONDS
    )
    answers = len(fake_chat_apis.posted("chat.postMessage"))
    status, headers = post(
        slack, body, slack_headers(body, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"})
    )
    assert status == 200 and headers.get("X-Slack-No-Retry") == "1"
    assert not wait_for(lambda: len(fake_chat_apis.posted("chat.postMessage")) > answers, QUIET_SECONDS)


def telegram_update(text: str, update_id: int) -> bytes:
    sender = {"id": TELEGRAM_CHAT_ID, "is_bot": False, "first_name": "Pat"}
    chat = {"id": TELEGRAM_CHAT_ID, "type": "private"}
    message = {"message_id": update_id, "date": int(time.time()), "chat": chat, "from": sender, "text": text}
    return json.dumps({"update_id": update_id, "message": message}).encode()


def test_a_telegram_update_gets_the_answer_through_send_message(live_bot, fake_chat_apis) -> None:
    before = len(fake_chat_apis.posted("sendMessage"))
    status, _ = post(f"{live_bot.base_url}/webhooks/telegram/webhook", telegram_update(QUESTION, 1), {})
    assert status == 200
    assert wait_for(
        lambda: any("35%" in text for text in fake_chat_apis.posted("sendMessage")[before:]), WAIT_SECONDS
    )


def test_a_telegram_command_for_another_bot_is_ignored(live_bot, fake_chat_apis) -> None:
    before = len(fake_chat_apis.posted("sendMessage"))
    status, _ = post(
        f"{live_bot.base_url}/webhooks/telegram/webhook", telegram_update("/start@some_other_bot", 2), {}
    )
    assert status == 200
    assert not wait_for(lambda: len(fake_chat_apis.posted("sendMessage")) > before, QUIET_SECONDS)


def test_a_telegram_command_for_this_bot_is_answered(live_bot, fake_chat_apis) -> None:
    before = len(fake_chat_apis.posted("sendMessage"))
    post(
        f"{live_bot.base_url}/webhooks/telegram/webhook", telegram_update(f"/help@{TELEGRAM_BOT_NAME}", 3), {}
    )
    assert wait_for(lambda: len(fake_chat_apis.posted("sendMessage")) > before, WAIT_SECONDS)


def test_without_tokens_no_chat_app_is_switched_on() -> None:
    from connectors.credentials import SLACK, TELEGRAM, credentials

    assert not {SLACK, TELEGRAM} & set(credentials({}))
    assert SLACK not in credentials({"SLACK_BOT_TOKEN": "x"})  # a token without its signing secret


def test_the_website_widget_channel_is_always_on_and_keeps_conversations_across_reloads() -> None:
    from connectors.credentials import SOCKETIO, credentials

    widget = credentials({})[SOCKETIO]
    assert widget["session_persistence"] is True
    assert (widget["user_message_evt"], widget["bot_message_evt"]) == ("user_uttered", "bot_uttered")


def test_the_terminal_chat_takes_the_place_of_rest_on_the_same_address() -> None:
    """Rasa's `cmdline` channel serves /webhooks/rest/webhook itself; both at once would clash."""
    from connectors.credentials import SOCKETIO, credentials

    assert {"cmdline", SOCKETIO} <= set(credentials({}, terminal=True))
    assert "rest" not in credentials({}, terminal=True)
    assert "cmdline" not in credentials({})


def test_the_written_settings_are_readable_by_their_owner_alone(tmp_path) -> None:
    import stat

    from connectors.credentials import main

    output = tmp_path / "credentials.yml"
    output.write_text("old")
    output.chmod(0o644)
    assert main([str(output)]) == 0
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert "old" not in output.read_text()
    assert main(["--terminal"]) == 2  # no output file: the usage, not a traceback
