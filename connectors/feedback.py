"""Feedback on answers, on the Rasa server's side: drawing "Was this helpful?" in each channel, and
keeping the website widget's presses.

An answer from the knowledge store carries the question under its last message's `feedback` key
(actions/feedback.py). The channels draw it after the message itself:

- the website widget is sent it as a message of its own, `{"feedback": ...}` (`for_the_page`:
  the words, the choices and the reasons, never a payload), and draws it under the answer. Its
  presses come back as the socket event `answer_feedback`, `{"answer", "helpful", "reason"}`,
  which never enters the conversation: `record_press` keeps it in the feedback store, on the
  store's own thread, and nothing waits for it but the page's "thank you";
- Slack and Telegram send it as a message with two quick replies, whose payloads come back as
  messages, to the action server (`as_quick_replies`).

A press is kept only for an answer given in the same conversation (the store compares the
conversation's keyed hash). The key is ACTION_SERVER_TOKEN's, which the action server hashes with
too: from the environment, or, where only the endpoints file holds it, from the action endpoint's
bearer token (`conversation_token`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from feedback.store import (
    ANSWER_ID,
    REASONS,
    TOKEN_VARIABLE,
    WRITER,
    conversation_hash,
    record_feedback,
    store_url,
)

logger = logging.getLogger(__name__)

FEEDBACK_KEY = "feedback"  # the key of an answer's message (actions/feedback.py: FEEDBACK)
PRESS_EVENT = "answer_feedback"
SAVED_EVENT = "feedback_saved"
# How long the page waits to hear its press was kept; the store's thread goes on regardless.
PRESS_SECONDS = 5.0
TEXTS = ("question", "reasons_question", "thanks", "not_saved")


def prompt_of(message: dict[str, Any]) -> dict[str, Any] | None:
    """The question a message carries, if it is well formed."""
    prompt = message.get(FEEDBACK_KEY)
    if not isinstance(prompt, dict) or not isinstance(prompt.get("answer"), str):
        return None
    if not all(isinstance(prompt.get(key), str) for key in TEXTS):
        return None
    choices, reasons = prompt.get("choices"), prompt.get("reasons")
    if not isinstance(choices, list) or not isinstance(reasons, list):
        return None
    if not all(isinstance(c, dict) and isinstance(c.get("title"), str) for c in [*choices, *reasons]):
        return None
    return prompt


def as_quick_replies(prompt: dict[str, Any]) -> tuple[str, list[dict[str, str]]]:
    """The question and its two choices, as a chat app's message with buttons."""
    buttons = [
        {"title": choice["title"], "payload": choice["payload"]}
        for choice in prompt["choices"]
        if isinstance(choice.get("payload"), str)
    ]
    return prompt["question"], buttons


def for_the_page(prompt: dict[str, Any]) -> dict[str, Any]:
    """What the widget draws: the words and which choice is which, never intent syntax."""
    return {
        "answer": prompt["answer"],
        **{key: prompt[key] for key in TEXTS},
        "choices": [{"title": c["title"], "helpful": bool(c.get("helpful"))} for c in prompt["choices"]],
        "reasons": [
            {"title": r["title"], "reason": r.get("reason")}
            for r in prompt["reasons"]
            if r.get("reason") in REASONS
        ],
    }


def conversation_token(agent: Any = None) -> str | None:
    """The token the conversations' hashes are keyed with: ACTION_SERVER_TOKEN, as the action server
    has it; where this server has it only in its endpoints file, the action endpoint's."""
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if token:
        return token
    headers = getattr(getattr(agent, "action_endpoint", None), "headers", None) or {}
    scheme, _, given = str(headers.get("Authorization") or "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" and given.strip() else None


def a_press(data: Any) -> tuple[str, bool, str | None] | None:
    """The page's press, if it is one: an answer id, helpful or not, and a reason of the list."""
    if not isinstance(data, dict) or set(data) - {"answer", "helpful", "reason"}:
        return None
    answer, helpful, reason = data.get("answer"), data.get("helpful"), data.get("reason")
    if not isinstance(answer, str) or not ANSWER_ID.fullmatch(answer) or not isinstance(helpful, bool):
        return None
    if reason is not None and (reason not in REASONS or helpful):
        return None
    return answer, helpful, reason


async def record_press(agent: Any, conversation: str, data: Any) -> bool:
    """Keep a press of the widget's feedback in the store; whether it was kept. A malformed press,
    one on an answer of another conversation, or a store that is down or slow: not kept, logged
    (without anything the patient typed), and the conversation goes on as before."""
    press = a_press(data)
    if press is None:
        logger.warning("A malformed feedback press was ignored")
        return False
    answer, helpful, reason = press
    url, hashed = store_url(), conversation_hash(conversation, conversation_token(agent))
    done = WRITER.submit(lambda: record_feedback(url, answer, helpful, reason, hashed), "feedback")
    try:
        kept = await asyncio.wait_for(asyncio.wrap_future(done), PRESS_SECONDS)
    except Exception as error:  # noqa: BLE001 (the store's writer logs an outage; the page is told)
        logger.warning("A feedback press could not be kept: %s", type(error).__name__)
        return False
    if not kept:
        logger.warning("A feedback press named no answer of its conversation: not kept")
    return bool(kept)
