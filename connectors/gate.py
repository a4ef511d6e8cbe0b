"""The one way in for every message, on every channel: checked, limited, and never left unanswered.

Behind the gate Rasa understands the message and answers it, which needs the model, the action
server and the conversation and lock stores. Any of those can fail or be slow, and a stranger can
send anything. So every channel (REST and the terminal, the website widget, Slack, Telegram)
hands each message to `Gate.handle`, which:

- accepts only a well-formed conversation id (`CONVERSATION_ID`) and a message that is text of at
  most `MAX_MESSAGE_CHARACTERS`; the channels refuse anything else before it is stored;
- answers someone describing an emergency at once, from the red-flag rules alone, before Rasa
  runs: neither a slow store nor a dead action server can hold that reply back;
- answers a message that is too long, or sent too fast, with a short reply that still says how to
  get urgent help, without handing it to Rasa;
- deletes the conversation when the patient asks to (`DELETE_COMMANDS`);
- and never leaves a patient in silence: if Rasa said nothing by the end of the turn, or took
  longer than `TURN_SECONDS`, the patient is told "I can't look that up right now", with how to
  get urgent help.

Its fixed replies are domain responses (`domain.yml`), rendered by the Rasa server's response
generator, so each wording lives in one place. Nothing a patient typed is ever logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Awaitable, Callable, Mapping

from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import Sanic

from connectors.conversations import delete_conversation
from connectors.responses import CANNOT_LOOK_UP, DELETED, OPENING_NOTICE, SLOW_DOWN, TOO_LONG, URGENT_HELP
from safety.red_flags import Alarm, RedFlagChecker, red_flag_checker, urgent_reply_kind

logger = logging.getLogger(__name__)

# A conversation id: what the channels send as the sender (REST's `sender`, the widget's
# server-issued id, a Slack user, a Telegram chat, the terminal's random id). Anything else,
# a NUL byte, a 300-character id the tracker store cannot keep, an empty one that Rasa would
# file under one shared "default" conversation, is refused before anything is stored.
CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The longest message the assistant reads. A question takes a few hundred characters; the
# model's cost grows with the square of a message's length (a 30 kB message once took 3.3 GB
# and held everyone else up for 2.8 s), so anything longer is answered "too long", unread.
MAX_MESSAGE_CHARACTERS = 2000
# How much of a message that is too long the red-flag rules still read, so that an emergency
# inside a pasted essay still gets urgent help. The rules are regular expressions over sentences;
# 20,000 characters take them a few milliseconds.
MAX_CHARACTERS_SCANNED = 20_000
# Metadata a client may attach to a message, as JSON. It is kept with the message, so its size
# is bounded like the message's.
MAX_METADATA_BYTES = 2048
# How long a patient waits for Rasa before hearing "I can't look that up right now". The action
# server is given less (connectors.processor.ACTION_SECONDS), so this is the last resort.
TURN_SECONDS = 10.0
# Someone describing an emergency has had the urgent reply already; a channel that answers all at
# once (REST) waits no longer than this for the rest, which goes on in the background.
TURN_SECONDS_AFTER_URGENT_HELP = 1.5
# Typed alone (any case, with or without a full stop), these delete the conversation.
DELETE_COMMANDS = frozenset(
    {"/delete", "delete this conversation", "delete my conversation", "delete this chat", "delete my chat"}
)


class Outcome(Enum):
    """How the gate dealt with a message; channels with their own status codes use it."""

    ANSWERED = "answered"  # by Rasa, or, failing that, by the gate
    TOO_LONG = "too long"
    SLOWED = "slowed"  # too many messages too fast
    DELETED = "deleted"


class Refused(ValueError):
    """A request no patient's client sends. The channel answers it with 400 (or its own way of
    saying no), and nothing is stored."""


def conversation_id(value: Any) -> str:
    """The conversation id, if it is one; Telegram's chat ids are numbers, so those are taken."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not CONVERSATION_ID.fullmatch(value):
        raise Refused("The conversation id must be 1 to 64 letters, digits, '-' or '_'.")
    return value


def message_text(value: Any) -> str:
    """The message, if it is text with something in it (its length is the gate's to judge)."""
    if not isinstance(value, str) or not value.strip():
        raise Refused("The message must be text that is not empty.")
    if "\x00" in value:
        raise Refused("The message must not contain a NUL character.")
    return value


def message_metadata(value: Any) -> dict[str, Any] | None:
    """Metadata sent with a message: nothing, or a small JSON object."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Refused("The metadata must be a JSON object.")
    try:
        size = len(json.dumps(value, ensure_ascii=False).encode())
    except (TypeError, ValueError) as error:
        raise Refused("The metadata must be a JSON object.") from error
    if size > MAX_METADATA_BYTES:
        raise Refused(f"The metadata must be at most {MAX_METADATA_BYTES} bytes of JSON.")
    return value


def is_delete_command(text: str) -> bool:
    return text.strip().rstrip(".!").strip().casefold() in DELETE_COMMANDS


@dataclass
class TokenBucket:
    """`burst` messages at once, then one every 1/`per_second` seconds, per key."""

    burst: float
    per_second: float
    max_keys: int = 100_000
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def allow(self, key: str) -> bool:
        now = self.clock()
        tokens, then = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.per_second)
        if len(self._buckets) >= self.max_keys and key not in self._buckets:
            self._forget_the_full(now)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1, now)
        return True

    def _forget_the_full(self, now: float) -> None:
        """Drop every key whose bucket has filled up again: they are as good as new."""
        full = [key for key, (tokens, then) in self._buckets.items()
                if tokens + (now - then) * self.per_second >= self.burst]  # fmt: skip
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:  # a flood of new keys: start again
            self._buckets.clear()


@dataclass(frozen=True)
class RateLimits:
    """How fast one conversation, and one client address, may send messages.

    A patient types a message every few seconds at most, and a page opening sends two at once:
    one conversation may send 10 at once, then one a second. A client address may be a clinic's
    network with dozens of people behind it: 60 at once, then 10 a second (nginx, in front in
    production, allows 5 a second on REST). Past a limit, a message is answered "please slow
    down", unread (but an emergency in it is still answered first).
    `RATE_LIMITS=off` switches them off, for the benchmarks, which send hundreds of messages a
    second from one address on purpose.
    """

    per_conversation: TokenBucket
    per_client: TokenBucket

    @classmethod
    def from_environment(cls, environment: Mapping[str, str] = os.environ) -> RateLimits | None:
        if environment.get("RATE_LIMITS", "").strip().lower() == "off":
            return None
        return cls(
            per_conversation=TokenBucket(burst=10, per_second=1.0),
            per_client=TokenBucket(burst=60, per_second=10.0),
        )

    def allow(self, conversation: str, client: str | None) -> bool:
        allowed = self.per_conversation.allow(conversation)
        if client is not None:
            allowed = self.per_client.allow(client) and allowed
        return allowed


class GuardedOutput(OutputChannel):
    """The channel's output, through which the gate sees what Rasa says: whether it answered the
    message (the opening notice of a new conversation is not an answer), and not the urgent reply
    a second time once the gate has sent it."""

    def __init__(self, channel: OutputChannel) -> None:
        self.channel = channel
        self.answers = 0
        self.already_said: set[str] = set()

    def name(self) -> str:  # type: ignore[override]
        return self.channel.name()

    @property
    def messages(self) -> Any:
        """The collected messages, for channels (REST) whose output collects them."""
        return getattr(self.channel, "messages", None)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        text = message.get("text")
        if text is not None and text in self.already_said:
            return
        if message.get("utter_action") != OPENING_NOTICE:
            self.answers += 1
        await self.channel.send_response(recipient_id, message)  # Rasa's channels pop its text

    async def say(self, recipient_id: str, message: dict[str, Any], once: bool = False) -> None:
        """Send one of the gate's own replies; `once`: Rasa will not be let to repeat it."""
        text = message.get("text")
        await self.send_response(recipient_id, message)
        if once and text:
            self.already_said.add(text)


@dataclass
class Gate:
    """The checks and fixed replies for one Rasa server (one Sanic app)."""

    app: Sanic
    checker: RedFlagChecker
    limits: RateLimits | None
    turn_seconds: float = TURN_SECONDS
    _unfinished: set[asyncio.Task] = field(default_factory=set)

    @classmethod
    def of(cls, app: Sanic) -> Gate:
        """The app's gate, made the first time a channel asks for it."""
        gate = getattr(app.ctx, "gate", None)
        if gate is None:
            gate = cls(app, red_flag_checker(), RateLimits.from_environment())
            app.ctx.gate = gate
        return gate

    async def handle(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        text: str,
        output: OutputChannel,
        sender_id: str,
        input_channel: str,
        metadata: dict[str, Any] | None = None,
        client: str | None = None,
    ) -> Outcome:
        """Answer one message, whatever happens behind the gate. `text` and `sender_id` have been
        checked by the channel (`message_text`, `conversation_id`)."""
        guarded = GuardedOutput(output)
        alarms = self.checker.check_all(text[:MAX_CHARACTERS_SCANNED])
        if alarms:
            await guarded.say(sender_id, self.urgent_reply(alarms, guarded.name()), once=True)
        if len(text) > MAX_MESSAGE_CHARACTERS:
            logger.info("A message of %d characters was answered 'too long', unread", len(text))
            await guarded.say(sender_id, self.reply(TOO_LONG, guarded.name()))
            return Outcome.TOO_LONG
        if self.limits is not None and not self.limits.allow(sender_id, client):
            logger.warning("A message was answered 'slow down': too many from this conversation or client")
            await guarded.say(sender_id, self.reply(SLOW_DOWN, guarded.name()))
            return Outcome.SLOWED
        if is_delete_command(text):
            deleted = await self.delete_on_request(sender_id, guarded)
            return Outcome.DELETED if deleted else Outcome.ANSWERED

        message = UserMessage(text, guarded, sender_id, input_channel=input_channel, metadata=metadata)
        await self._run_turn(
            on_new_message(message),
            min(self.turn_seconds, TURN_SECONDS_AFTER_URGENT_HELP) if alarms else self.turn_seconds,
        )
        if guarded.answers == 0:
            logger.error("A turn ended with nothing said to the patient: told 'I can't look that up'")
            await guarded.say(sender_id, self.reply(CANNOT_LOOK_UP, guarded.name()))
        return Outcome.ANSWERED

    async def delete_on_request(self, sender_id: str, output: OutputChannel) -> bool:
        """Delete the conversation's record at the patient's request, then say so (in a reply
        that is itself not stored). False, and "I can't look that up", if it could not be."""
        try:
            await delete_conversation(self.app.ctx.agent, sender_id)
        except Exception as error:  # noqa: BLE001 (said to the patient, and logged for operators)
            logger.error("Could not delete a conversation on request: %s", type(error).__name__)
            await output.send_response(sender_id, self.reply(CANNOT_LOOK_UP, output.name()))
            return False
        logger.info("A conversation was deleted at the patient's request")
        await output.send_response(sender_id, self.reply(DELETED, output.name()))
        return True

    async def _run_turn(self, turn: Awaitable[Any], seconds: float) -> None:
        """Let Rasa handle the message for at most `seconds`. Past that, the turn goes on in the
        background (cancelling it could leave its record half written) and the patient is not
        kept waiting for it."""
        task = asyncio.ensure_future(turn)
        try:
            await asyncio.wait_for(asyncio.shield(task), seconds)
        except asyncio.TimeoutError:
            logger.error("A turn took longer than %.1f s: the patient was answered without it", seconds)
            self._unfinished.add(task)
            task.add_done_callback(self._finished_late)
        except Exception as error:  # noqa: BLE001 (the patient is answered whatever went wrong)
            logger.error("A turn failed: %s", type(error).__name__)

    def _finished_late(self, task: asyncio.Task) -> None:
        self._unfinished.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("A late turn failed: %s", type(task.exception()).__name__)

    def urgent_reply(self, alarms: list[Alarm], channel: str) -> dict[str, Any]:
        return self.reply(URGENT_HELP, channel, red_flag=urgent_reply_kind(alarms))

    def reply(self, response: str, channel: str, **slots: Any) -> dict[str, Any]:
        """A domain response as the Rasa server renders it: text only, no buttons."""
        nlg = self.app.ctx.agent.nlg
        rendered = nlg.generate_from_slots(response, slots, channel)
        if not rendered or not rendered.get("text"):
            raise LookupError(f"The domain has no text for {response}")
        return {"text": rendered["text"]}


def through_the_gate(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
) -> tuple[Callable[[UserMessage], Awaitable[None]], Callable[[Any], None]]:
    """`on_new_message` for a channel whose Rasa handler builds the message itself (Slack,
    Telegram): each message is checked and answered through the gate. Returns the handler to
    give Rasa's blueprint, and a listener to register on that blueprint, which tells the handler
    its app when the server starts."""
    apps: list[Sanic] = []

    async def remember_app(app: Sanic, _loop: Any = None) -> None:
        apps.append(app)

    async def handle(message: UserMessage) -> None:
        try:
            sender = conversation_id(message.sender_id)
            text = message_text(message.text)
        except Refused:
            logger.warning(
                "A %s message with no text or a malformed sender was ignored", message.input_channel
            )
            return
        await Gate.of(apps[0]).handle(
            on_new_message,
            text,
            message.output_channel,
            sender,
            message.input_channel or "",
            message.metadata,
        )

    return handle, remember_app
