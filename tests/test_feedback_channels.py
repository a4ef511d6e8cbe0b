"""Feedback in Slack, Telegram and the terminal, for real: the running assistant, the fake Slack and
Telegram APIs on loopback (tests/fake_chat_apis.py), and its REST address as the terminal uses it.
An answer carries "Was this helpful?" with two quick replies (in the terminal, in words); pressing
them, or typing the words, stores the feedback row against that answer; "yes" and "no" are not
taken for feedback; and urgent help comes first whatever is pressed or typed."""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from tests import test_channels as channels
from tests.helpers import everything_in, feedback_of
from tests.live_bot import ACTION_SERVER_TOKEN, LiveBot, running_bot
from tests.test_channels import (
    QUESTION,
    WAIT_SECONDS,
    post,
    slack_event,
    slack_headers,
    telegram_update,
    wait_for,
)

# The chat apps' fixtures: their webhooks, and the header Telegram sends.
slack = channels.slack
telegram = channels.telegram
from_telegram = channels.from_telegram

ASKED = "Was this helpful?"
REASONS = ["Hard to understand", "Not what I asked", "Too long", "Wrong or out of date"]
THANKS = "Thank you for telling me."


def kept(url: str, conversation: str, until=lambda found: True) -> dict:
    """The conversation's rows in the feedback store, once `until` holds."""
    deadline = time.monotonic() + WAIT_SECONDS
    found = feedback_of(url, conversation, ACTION_SERVER_TOKEN)
    while not until(found) and time.monotonic() < deadline:
        time.sleep(0.25)
        found = feedback_of(url, conversation, ACTION_SERVER_TOKEN)
    return found


# Slack: a message with buttons is a section and an actions block; a press comes back as a
# signed form with the button's value.
def slack_buttons(fake_chat_apis, channel: str, text: str) -> list[dict]:
    for post_sent in fake_chat_apis.slack_posts_to(channel):
        if post_sent.get("text") == text:
            return [e for block in post_sent.get("blocks") or [] for e in block.get("elements") or []]
    return []


def slack_press(url: str, user: str, channel: str, value: str) -> int:
    action = {"type": "button", "value": value, "action_id": "x", "block_id": "y"}
    payload = {"type": "block_actions", "user": {"id": user}, "channel": {"id": channel}, "actions": [action]}
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    headers = {**slack_headers(body), "Content-Type": "application/x-www-form-urlencoded"}
    status, _ = post(url, body, headers)
    return status


def test_a_slack_answer_carries_yes_and_no_and_pressing_no_then_a_reason_stores_one_row(
    slack, fake_chat_apis, feedback_store_url: str
) -> None:
    user, channel = "U-feedback", "D-feedback"
    body = slack_event(QUESTION, "Ev-feedback", user=user, channel=channel)
    assert post(slack, body, slack_headers(body))[0] == 200
    assert wait_for(lambda: slack_buttons(fake_chat_apis, channel, ASKED), WAIT_SECONDS)
    choices = slack_buttons(fake_chat_apis, channel, ASKED)
    assert [b["text"]["text"] for b in choices] == ["Yes", "No"]
    # After the answer and its safety note: the question is the last thing posted.
    texts = fake_chat_apis.slack_messages_to(channel)
    assert any("(35%)" in text for text in texts) and texts[-1] == ASKED

    assert slack_press(slack, user, channel, choices[1]["value"]) == 200
    asked_why = "Thank you. What was wrong? You can pick one, or just carry on."
    assert wait_for(lambda: slack_buttons(fake_chat_apis, channel, asked_why), WAIT_SECONDS)
    reasons = slack_buttons(fake_chat_apis, channel, asked_why)
    assert [b["text"]["text"] for b in reasons] == REASONS
    assert slack_press(slack, user, channel, reasons[3]["value"]) == 200
    assert wait_for(lambda: THANKS in fake_chat_apis.slack_messages_to(channel), WAIT_SECONDS)

    found = kept(feedback_store_url, user, lambda f: f["feedback"] and f["feedback"][0]["reason"])
    [answer] = found["answers"]
    assert (answer["topic"], answer["trial"], answer["channel"]) == ("relapse", "care-ms-ii", "slack")
    assert [(f["answer_id"], f["helpful"], f["reason"]) for f in found["feedback"]] == [
        (answer["answer_id"], False, "wrong")
    ]
    assert any(row["table_name"] == "results" for row in found["rows"])
    assert QUESTION not in everything_in(feedback_store_url)


# Telegram: quick replies are an inline keyboard; a press comes back as a callback query.
def telegram_buttons(fake_chat_apis, chat_id: int, text: str) -> list[dict]:
    for call in fake_chat_apis.parameters("sendMessage"):
        if call.get("chat_id") == str(chat_id) and call.get("text") == text and call.get("reply_markup"):
            return [b for row in json.loads(call["reply_markup"])["inline_keyboard"] for b in row]
    return []


def telegram_press(chat_id: int, update_id: int, data: str) -> bytes:
    chat = {"id": chat_id, "type": "private"}
    sender = {"id": chat_id, "is_bot": False, "first_name": "Pat"}
    message = {"message_id": update_id, "date": int(time.time()), "chat": chat, "text": ASKED}
    query = {"id": f"cb{update_id}", "from": sender, "message": message, "chat_instance": "1", "data": data}
    return json.dumps({"update_id": update_id, "callback_query": query}).encode()


def test_a_telegram_answer_carries_yes_and_no_and_pressing_yes_stores_the_row(
    telegram, from_telegram, fake_chat_apis, feedback_store_url: str
) -> None:
    chat_id = 5151
    assert post(telegram, telegram_update(QUESTION, 51, chat_id=chat_id), from_telegram)[0] == 200
    assert wait_for(lambda: telegram_buttons(fake_chat_apis, chat_id, ASKED), WAIT_SECONDS)
    choices = telegram_buttons(fake_chat_apis, chat_id, ASKED)
    assert [b["text"] for b in choices] == ["Yes", "No"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in choices)

    assert post(telegram, telegram_press(chat_id, 52, choices[0]["callback_data"]), from_telegram)[0] == 200
    assert wait_for(lambda: THANKS in fake_chat_apis.telegram_messages_to(chat_id), WAIT_SECONDS)
    found = kept(feedback_store_url, str(chat_id), lambda f: f["feedback"])
    [answer] = found["answers"]
    assert (answer["topic"], answer["channel"]) == ("relapse", "telegram")
    assert [(f["answer_id"], f["helpful"], f["reason"]) for f in found["feedback"]] == [
        (answer["answer_id"], True, None)
    ]


def test_a_telegram_press_on_an_earlier_answer_still_counts_after_another_question(
    telegram, from_telegram, fake_chat_apis, feedback_store_url: str
) -> None:
    """The buttons stay on screen in a chat app: pressing one later rates the answer it was under."""
    chat_id = 5252
    assert post(telegram, telegram_update(QUESTION, 61, chat_id=chat_id), from_telegram)[0] == 200
    assert wait_for(lambda: telegram_buttons(fake_chat_apis, chat_id, ASKED), WAIT_SECONDS)
    first_no = telegram_buttons(fake_chat_apis, chat_id, ASKED)[1]["callback_data"]
    assert (
        post(telegram, telegram_update("how many had infections?", 62, chat_id=chat_id), from_telegram)[0]
        == 200
    )
    assert wait_for(
        lambda: kept(feedback_store_url, str(chat_id), lambda f: len(f["answers"]) == 2), WAIT_SECONDS
    )
    assert post(telegram, telegram_press(chat_id, 63, first_no), from_telegram)[0] == 200
    found = kept(feedback_store_url, str(chat_id), lambda f: f["feedback"])
    topics = {a["answer_id"]: a["topic"] for a in found["answers"]}
    assert [(topics[f["answer_id"]], f["helpful"]) for f in found["feedback"]] == [("relapse", False)]


# The terminal: `rasa shell` posts to the REST address as the `cmdline` channel, and shows text only.
@pytest.fixture(scope="module")
def terminal(knowledge_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBot]:
    """The assistant as `make run` starts it for its terminal chat."""
    from connectors.credentials import credentials

    workdir: Path = tmp_path_factory.mktemp("terminal-bot")
    settings = workdir / "credentials.yml"
    settings.write_text(yaml.safe_dump(credentials({}, terminal=True)))
    with running_bot(knowledge_url, workdir, settings, environment={"RATE_LIMITS": "off"}) as bot:
        yield bot


def said(replies: list[dict]) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)


def test_in_the_terminal_typing_not_helpful_then_a_reason_stores_one_row(
    terminal: LiveBot, feedback_store_url: str
) -> None:
    answer = said(terminal.say("t-feedback", QUESTION))
    assert "(35%)" in answer
    assert answer.endswith('Was this helpful? You can type "helpful" or "not helpful".')
    why = said(terminal.say("t-feedback", "Not helpful"))
    assert why == (
        'Thank you. What was wrong? If you like, type "hard to understand", "not what I asked", '
        '"too long" or "wrong or out of date".'
    )
    assert said(terminal.say("t-feedback", "too long.")) == THANKS
    found = kept(feedback_store_url, "t-feedback", lambda f: f["feedback"] and f["feedback"][0]["reason"])
    [given] = found["answers"]
    assert (given["topic"], given["trial"], given["channel"]) == ("relapse", "care-ms-ii", "cmdline")
    assert [(f["helpful"], f["reason"]) for f in found["feedback"]] == [(False, "too_long")]


def test_in_the_terminal_yes_and_no_after_an_answer_are_not_feedback(
    terminal: LiveBot, feedback_store_url: str
) -> None:
    for word in ("yes", "no"):
        sender = f"t-{word}"
        terminal.say(sender, QUESTION)
        reply = said(terminal.say(sender, word))
        assert THANKS not in reply and "What was wrong?" not in reply
        assert kept(feedback_store_url, sender, lambda f: f["answers"])["feedback"] == []


def test_in_the_terminal_helpful_typed_later_rates_the_latest_answer(
    terminal: LiveBot, feedback_store_url: str
) -> None:
    terminal.say("t-later", QUESTION)
    terminal.say("t-later", "hello")  # the words are no longer the last turn's offer: the model reads them
    assert said(terminal.say("t-later", "that was helpful")) == THANKS
    found = kept(feedback_store_url, "t-later", lambda f: f["feedback"])
    assert [(f["answer_id"], f["helpful"]) for f in found["feedback"]] == [
        (found["answers"][0]["answer_id"], True)
    ]


@pytest.mark.parametrize(
    "typed",
    [
        "not helpful. I have crushing chest pain right now",
        '/feedback{"answer":"AAAAAAAAAAAAAAAA","helpful":"no"} I want to kill myself',
    ],
)
def test_urgent_help_comes_first_whatever_feedback_is_typed_with_it(
    terminal: LiveBot, feedback_store_url: str, typed: str
) -> None:
    sender = f"t-urgent-{abs(hash(typed)) % 1000}"
    terminal.say(sender, QUESTION)
    replies = terminal.say(sender, typed)
    assert "emergency" in replies[0]["text"] or "emergency department" in replies[0]["text"]
    assert THANKS not in said(replies)
    assert kept(feedback_store_url, sender, lambda f: f["answers"])["feedback"] == []
