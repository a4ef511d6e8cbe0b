"""Slack and Telegram, for real: the running assistant, switched on by environment settings,
talking to fake Slack and Telegram APIs on loopback (`tests/fake_chat_apis.py`)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import time
import urllib.error
import urllib.request
import uuid

import pytest

from tests.conftest import SLACK_SIGNING_SECRET
from tests.fake_chat_apis import TELEGRAM_BOT_NAME, TELEGRAM_CHAT_ID

WAIT_SECONDS = 60  # Slack events are answered in the background; poll for at most this long
QUIET_SECONDS = 5  # how long to watch for an answer that must not come
QUESTION = "how many people relapsed on alemtuzumab?"
ANSWER = "about 35 in 100 ("  # in the one message answering QUESTION (its picture: "35 in 100")
OPENING = "Hello. I'm an automated assistant"  # a new conversation's first message
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SLACK_SETTINGS = {"slack_token": "xoxb-test-token", "slack_signing_secret": SLACK_SIGNING_SECRET}


def post(url: str, body: bytes, headers: dict[str, str], method: str = "POST") -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **headers}, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, dict(answer.headers)
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers)


def slack_event(text: str, event_id: str, user: str = "U1", channel: str = "D1", ts: str = "1.0") -> bytes:
    event = {
        "type": "message",
        "channel": channel,
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": ts,
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


def test_a_slack_answer_shows_its_picture_as_block_kit_fields_with_the_figures_as_its_text(
    slack, fake_chat_apis
) -> None:
    body = slack_event(QUESTION, "Ev-picture", channel="D-picture")
    status, _ = post(slack, body, slack_headers(body))
    assert status == 200

    def pictures() -> list[dict]:  # quick replies come as blocks too; a picture starts with a header
        posts = fake_chat_apis.slack_posts_to("D-picture")
        return [p for p in posts if p.get("blocks") and p["blocks"][0]["type"] == "header"]

    assert wait_for(pictures, WAIT_SECONDS)
    (picture,) = pictures()
    blocks = picture["blocks"]
    assert blocks[0]["text"]["text"] == "Had at least one relapse over the 2 years"
    fields = [field["text"] for block in blocks for field in block.get("fields", [])]
    assert fields == ["*alemtuzumab 12 mg*\n35 in 100 (35%)", "*interferon beta-1a*\n51 in 100 (51%)"]
    assert "On alemtuzumab 12 mg, 35 in 100 had at least one relapse" in picture["text"]
    texts = [p.get("text", "") for p in fake_chat_apis.slack_posts_to("D-picture")]
    drawn = texts.index(picture["text"])
    assert "(35%)" in texts[drawn - 1] and texts[drawn + 1].startswith("Safety note:"), texts


def test_a_badly_signed_slack_event_gets_401_and_nothing_is_processed(slack, fake_chat_apis) -> None:
    # Its own channel: another test's answers may still be arriving in theirs.
    body = slack_event("how many people had infections?", "Ev-forged", channel="D-forged")
    status, _ = post(slack, body, slack_headers(body, secret="not-the-secret"))
    assert status == 401
    assert not wait_for(lambda: fake_chat_apis.slack_messages_to("D-forged"), QUIET_SECONDS)


def test_a_slack_retry_does_not_produce_a_second_answer(slack, fake_chat_apis) -> None:
    # Its own channel, and the whole answer (its source comes last) in before the retry: Slack
    # events are answered in the background, a message at a time.
    body = slack_event("what was the yearly relapse rate?", "Ev-retried", channel="D-retried")
    status, _ = post(slack, body, slack_headers(body))
    assert status == 200
    assert wait_for(
        lambda: any("\nSource" in t for t in fake_chat_apis.slack_messages_to("D-retried")),
        WAIT_SECONDS,
    )
    answer = fake_chat_apis.slack_messages_to("D-retried")
    assert any("relapses a year" in text for text in answer)
    status, headers = post(
        slack, body, slack_headers(body, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"})
    )
    assert status == 200 and headers.get("X-Slack-No-Retry") == "1"
    assert not wait_for(
        lambda: len(fake_chat_apis.slack_messages_to("D-retried")) > len(answer), QUIET_SECONDS
    )


def answers_in(fake_chat_apis, channel: str) -> int:
    """How many times QUESTION was answered in one Slack channel."""
    return sum(ANSWER in text for text in fake_chat_apis.slack_messages_to(channel))


def test_a_replayed_slack_event_is_answered_once(slack, fake_chat_apis) -> None:
    """The same signed request sent again within the signature's five minutes, with no retry
    header: only the first delivery of an event_id is answered."""
    body = slack_event(QUESTION, "Ev-replayed", user="U-replay", channel="D-replay")
    headers = slack_headers(body)
    for _ in range(4):
        status, _ = post(slack, body, headers)
        assert status == 200
    assert wait_for(lambda: answers_in(fake_chat_apis, "D-replay") == 1, WAIT_SECONDS)
    assert not wait_for(lambda: answers_in(fake_chat_apis, "D-replay") > 1, QUIET_SECONDS)


def test_two_slack_events_asking_the_same_thing_are_both_answered(slack, fake_chat_apis) -> None:
    """A person who asks the same question twice sends two events, with two event_ids."""
    for event_id, ts in (("Ev-asked-1", "1.0"), ("Ev-asked-2", "2.0")):
        body = slack_event(QUESTION, event_id, user="U-twice", channel="D-twice", ts=ts)
        status, _ = post(slack, body, slack_headers(body))
        assert status == 200
    assert wait_for(lambda: answers_in(fake_chat_apis, "D-twice") == 2, WAIT_SECONDS)


def test_an_event_is_taken_once_within_ten_minutes_then_forgotten() -> None:
    from connectors.slack import SeenSlackEvents

    now = [1000.0]
    seen = SeenSlackEvents(clock=lambda: now[0])

    async def deliveries(*event_ids: str) -> list[bool]:
        return [await seen.first_delivery(event_id) for event_id in event_ids]

    assert asyncio.run(deliveries("Ev1", "Ev1", "Ev2")) == [True, False, True]
    now[0] += 9 * 60
    assert asyncio.run(deliveries("Ev1")) == [False]
    now[0] += 2 * 60
    assert asyncio.run(deliveries("Ev1")) == [True]


def test_a_server_remembers_a_bounded_number_of_events_forgetting_the_oldest_first() -> None:
    from connectors.slack import SeenSlackEvents

    seen = SeenSlackEvents(max_remembered=2)

    async def deliveries(*event_ids: str) -> list[bool]:
        return [await seen.first_delivery(event_id) for event_id in event_ids]

    assert asyncio.run(deliveries("Ev1", "Ev2", "Ev3", "Ev3", "Ev1")) == [True, True, True, False, True]


def test_rasa_servers_sharing_the_lock_stores_redis_take_an_event_once(redis_url, monkeypatch) -> None:
    """An event replayed to another server behind the load balancer is not answered there either;
    the event ids are kept in Redis for ten minutes, under the deployment's key prefix."""
    import redis

    from connectors.slack import SlackInput

    prefix = f"test{uuid.uuid4().hex}"
    monkeypatch.setenv("LOCK_STORE_URL", redis_url)
    monkeypatch.setenv("LOCK_STORE_KEY_PREFIX", prefix)
    first, second = SlackInput.from_credentials(SLACK_SETTINGS), SlackInput.from_credentials(SLACK_SETTINGS)

    async def deliveries() -> list[bool]:
        return [
            await first.seen_events.first_delivery("Ev-shared"),
            await second.seen_events.first_delivery("Ev-shared"),
            await second.seen_events.first_delivery("Ev-other"),
            await first.seen_events.first_delivery("Ev-other"),
        ]

    store = redis.Redis.from_url(redis_url)
    try:
        assert asyncio.run(deliveries()) == [True, False, True, False]
        assert 0 < store.ttl(f"{prefix}:slack-event:Ev-shared") <= 600
    finally:
        store.delete(f"{prefix}:slack-event:Ev-shared", f"{prefix}:slack-event:Ev-other")


def test_with_redis_unreachable_a_server_still_takes_an_event_once_and_warns(monkeypatch, caplog) -> None:
    """Redis being down never costs a patient their answer: the server's own memory decides."""
    from connectors.slack import SlackInput
    from tests.live_bot import free_port

    monkeypatch.setenv("LOCK_STORE_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    channel = SlackInput.from_credentials(SLACK_SETTINGS)

    async def deliveries(*event_ids: str) -> list[bool]:
        return [await channel.seen_events.first_delivery(event_id) for event_id in event_ids]

    with caplog.at_level(logging.WARNING, logger="connectors.slack"):
        assert asyncio.run(deliveries("Ev1", "Ev1", "Ev2")) == [True, False, True]
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("Redis unreachable")


def telegram_update(text: str, update_id: int, chat_id: int = TELEGRAM_CHAT_ID) -> bytes:
    sender = {"id": chat_id, "is_bot": False, "first_name": "Pat"}
    chat = {"id": chat_id, "type": "private"}
    message = {"message_id": update_id, "date": int(time.time()), "chat": chat, "from": sender, "text": text}
    return json.dumps({"update_id": update_id, "message": message}).encode()


@pytest.fixture
def telegram(live_bot) -> str:
    return f"{live_bot.base_url}/webhooks/telegram/webhook"


@pytest.fixture
def from_telegram(live_bot, fake_chat_apis) -> dict[str, str]:
    """The header Telegram sends with every update: the secret_token the webhook was set with."""
    secret = fake_chat_apis.telegram_secret_token
    assert secret, "the webhook was set without a secret_token"
    return {TELEGRAM_SECRET_HEADER: secret}


def test_the_telegram_webhook_is_set_with_a_secret_token(live_bot, fake_chat_apis) -> None:
    webhook = fake_chat_apis.parameters("setWebhook")[-1]
    assert webhook["url"] == "https://example.invalid/webhooks/telegram/webhook"
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", webhook.get("secret_token", ""))


def test_a_telegram_update_gets_the_answer_through_send_message(
    telegram, from_telegram, fake_chat_apis
) -> None:
    before = len(fake_chat_apis.posted("sendMessage"))
    status, _ = post(telegram, telegram_update(QUESTION, 1), from_telegram)
    assert status == 200
    assert wait_for(
        lambda: any(ANSWER in text for text in fake_chat_apis.posted("sendMessage")[before:]), WAIT_SECONDS
    )


def test_a_telegram_answer_shows_its_picture_as_a_text_table(telegram, from_telegram, fake_chat_apis) -> None:
    status, _ = post(telegram, telegram_update(QUESTION, 7, chat_id=4747), from_telegram)
    assert status == 200
    assert wait_for(lambda: any("●" in t for t in fake_chat_apis.telegram_messages_to(4747)), WAIT_SECONDS)
    (table,) = [t for t in fake_chat_apis.telegram_messages_to(4747) if "●" in t]
    lines = table.splitlines()
    assert lines[0] == "CARE-MS II: how many people in 100 had at least one relapse over the 2 years."
    assert lines[1].endswith(" 35 on alemtuzumab 12 mg.") and lines[1].count("●") == 7
    assert lines[2].endswith(" 51 on interferon beta-1a.") and lines[2].count("●") == 10


@pytest.mark.parametrize(
    ("chat_id", "headers"),
    [(4242, {}), (4343, {TELEGRAM_SECRET_HEADER: "not-the-secret"})],
    ids=["without the secret token", "with a wrong one"],
)
def test_a_forged_telegram_update_is_refused_and_nothing_reaches_that_persons_chat_or_record(
    telegram, live_bot, fake_chat_apis, chat_id: int, headers: dict[str, str]
) -> None:
    """Anyone can post to the webhook's address, naming anyone's chat id."""
    status, _ = post(telegram, telegram_update(QUESTION, 10, chat_id=chat_id), headers)
    assert status == 403
    assert not wait_for(lambda: fake_chat_apis.telegram_messages_to(chat_id), QUIET_SECONDS)
    # Conversations are kept by sender id whatever the channel: this one has never begun.
    assert live_bot.say(str(chat_id), "hi")[0]["text"].startswith(OPENING)


def test_the_telegram_set_webhook_address_is_closed(live_bot, fake_chat_apis) -> None:
    """Rasa's route let anyone re-set the webhook; the channel sets it itself when it starts."""
    webhooks = len(fake_chat_apis.parameters("setWebhook"))
    for method in ("GET", "POST"):
        status, _ = post(f"{live_bot.base_url}/webhooks/telegram/set_webhook", b"", {}, method=method)
        assert status == 404
    assert len(fake_chat_apis.parameters("setWebhook")) == webhooks


def test_a_telegram_command_for_another_bot_is_ignored(telegram, from_telegram, fake_chat_apis) -> None:
    before = len(fake_chat_apis.posted("sendMessage"))
    status, _ = post(telegram, telegram_update("/start@some_other_bot", 2), from_telegram)
    assert status == 200
    assert not wait_for(lambda: len(fake_chat_apis.posted("sendMessage")) > before, QUIET_SECONDS)


def test_a_telegram_command_for_this_bot_is_answered(telegram, from_telegram, fake_chat_apis) -> None:
    before = len(fake_chat_apis.posted("sendMessage"))
    post(telegram, telegram_update(f"/help@{TELEGRAM_BOT_NAME}", 3), from_telegram)
    assert wait_for(lambda: len(fake_chat_apis.posted("sendMessage")) > before, WAIT_SECONDS)


def test_the_telegram_bots_account_is_asked_for_once_not_with_every_update(
    telegram, from_telegram, fake_chat_apis
) -> None:
    """Rasa asks the Bot API for it with every update: a network call per message."""
    asked = len(fake_chat_apis.posted("getMe"))
    before = len(fake_chat_apis.posted("sendMessage"))
    status, _ = post(telegram, telegram_update(QUESTION, 4), from_telegram)
    assert status == 200
    assert wait_for(lambda: len(fake_chat_apis.posted("sendMessage")) > before, WAIT_SECONDS)
    assert len(fake_chat_apis.posted("getMe")) == asked


def test_the_telegram_secret_token_is_derived_from_the_bot_token_when_not_given() -> None:
    """So that every server of a deployment agrees on it with no extra setting, and it changes
    when the bot token is revoked."""
    from connectors.credentials import TELEGRAM, credentials
    from connectors.telegram import TelegramInput

    environment = {
        "TELEGRAM_TOKEN": "123456:ABC-token",
        "TELEGRAM_BOT_NAME": TELEGRAM_BOT_NAME,
        "TELEGRAM_WEBHOOK_URL": "https://example.org/webhooks/telegram/webhook",
    }
    secret = TelegramInput.from_credentials(credentials(environment)[TELEGRAM]).secret_token
    digest = hmac.new(b"123456:ABC-token", b"telegram-webhook-secret", hashlib.sha256).digest()
    assert secret == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret)
    other_bot = credentials({**environment, "TELEGRAM_TOKEN": "123456:XYZ-token"})[TELEGRAM]
    assert TelegramInput.from_credentials(other_bot).secret_token != secret

    given = credentials({**environment, "TELEGRAM_SECRET_TOKEN": "our_own-Secret1"})[TELEGRAM]
    assert TelegramInput.from_credentials(given).secret_token == "our_own-Secret1"


def test_a_telegram_secret_token_that_telegram_would_refuse_stops_the_start() -> None:
    from rasa.shared.exceptions import RasaException

    from connectors.telegram import TelegramInput

    settings = {"access_token": "123456:ABC-token", "verify": TELEGRAM_BOT_NAME, "webhook_url": "https://x"}
    with pytest.raises(RasaException, match="TELEGRAM_SECRET_TOKEN must be 1 to 256 letters, digits"):
        TelegramInput.from_credentials({**settings, "secret_token": "has spaces!"})


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
    """The terminal channel serves /webhooks/rest/webhook itself; both at once would clash."""
    from connectors.credentials import REST, SOCKETIO, TERMINAL, credentials
    from connectors.rest import TerminalInput

    assert {TERMINAL, SOCKETIO} <= set(credentials({}, terminal=True))
    assert REST not in credentials({}, terminal=True)
    assert TERMINAL not in credentials({}) and REST in credentials({})
    assert TerminalInput.name() == "cmdline" and TerminalInput().url_prefix() == "rest"  # Rasa's terminal


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
