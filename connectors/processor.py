"""Rasa's message processor, made to fail safe. `connectors.server` puts it in Rasa's place.

Three things Rasa 3.6 does that a patient-facing assistant must not:

- **Intent syntax typed as text.** A message starting with "/" is read as an intent, a confidence
  and entities ("/ask_relapse@1.0 I have crushing chest pain" gets relapse figures), and it skips
  the NLU pipeline, red-flag check included. Here only a payload the assistant itself offered
  (a button of its last turn, or the widget's opening `/greet`) is read that way; anything else is
  understood as the plain text it is, red-flag rules first. A malformed payload such as
  `/greet{"treatment": {"x": 1}}` is therefore never taken at its word. The feedback quick replies
  under an answer ("Was this helpful?", actions/feedback.py) stay pressable later in a chat app,
  as they stay on screen: each is accepted whenever in the conversation it was offered, exactly as
  offered. And where an answer offered them in words (the terminal: "helpful", "not helpful"),
  those exact words in the next message are read as the payload each stands for; nothing else
  ("yes", "no") is.
- **Silence when the action server fails.** A custom action that cannot be run (the action server
  down, frozen or answering nonsense) loses its events and says nothing; for the session start
  that leaves the conversation without its opening or even its first `action_listen`, so no rule
  fires again, the urgent reply included. Here every custom action (`fail_safe`) is given
  `ACTION_SECONDS`, and one that fails is answered without the action server: the session starts
  as Rasa's own session start does, with the opening notice, and any other action says "I can't
  look that up right now", with how to get urgent help.
- **Turns that cost more the longer the conversation.** Every turn rebuilds, copies and walks the
  whole session (35 ms at turn 10, 453 ms at turn 400, and other patients waited meanwhile). Here
  a session that reaches `MAX_USER_MESSAGES_PER_SESSION` messages starts a new one before the next,
  silently and with every slot carried over, so a turn costs the same at turn 400 as at turn 20.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List

from rasa.core.actions.action import (
    Action,
    ActionExecutionRejection,
    ActionSessionStart,
    RemoteAction,
    create_bot_utterance,
)
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.nlg import NaturalLanguageGenerator
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from connectors import metrics
from connectors.action_calls import ThisTurnOnly
from connectors.conversations import conversation_store
from connectors.responses import CANNOT_LOOK_UP, OPENING_NOTICE, ServerResponses
from safety import log_lines

logger = logging.getLogger(__name__)

# The action server answers in tens of milliseconds, and in about a second under heavy load on 2
# cores (docs/benchmarks.md); past this a patient is answered without it. (Rasa waits 300 s.)
ACTION_SECONDS = 5.0
# A Rasa session is what every turn rebuilds and walks. A conversation rarely has more than a
# handful of questions; one that reaches this many starts a new session, carrying every slot.
MAX_USER_MESSAGES_PER_SESSION = 20
# The one payload a channel may send that the assistant did not offer in its last turn: the
# website widget opens every conversation with it (the notice, then a hello with topics).
OPENING_PAYLOAD = "/greet"
INTENT_PREFIX = "/"
# How an answer's message asks "Was this helpful?" (actions/feedback.py, the same names): its
# feedback quick replies, and the words the terminal may type instead, with their payloads.
FEEDBACK_KEY = "feedback"
TYPED_REPLIES_KEY = "typed_replies"
FEEDBACK_PAYLOAD_PREFIX = "/feedback{"


def offered_payloads(tracker: DialogueStateTracker | None) -> set[str]:
    """The payloads of the buttons and quick replies the assistant sent since the patient's
    last message: the only intent syntax a patient can send by pressing something."""
    offered = {OPENING_PAYLOAD}
    for event in reversed(tracker.events if tracker is not None else []):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            for choice in [*(event.data.get("buttons") or []), *(event.data.get("quick_replies") or [])]:
                if isinstance(choice, dict) and isinstance(choice.get("payload"), str):
                    offered.add(choice["payload"])
    return offered


def feedback_offered(tracker: DialogueStateTracker | None) -> set[str]:
    """The feedback quick replies the assistant sent in any turn of the conversation it has: a
    chat app keeps them on screen, and pressing one later still says what the patient thought."""
    offered: set[str] = set()
    for event in tracker.events if tracker is not None else []:
        if not isinstance(event, BotUttered):
            continue
        prompt = event.metadata.get(FEEDBACK_KEY)
        choices = [*(event.data.get("buttons") or [])]
        if isinstance(prompt, dict):
            choices += [*(prompt.get("choices") or []), *(prompt.get("reasons") or [])]
        for choice in choices:
            payload = choice.get("payload") if isinstance(choice, dict) else None
            if isinstance(payload, str) and payload.startswith(FEEDBACK_PAYLOAD_PREFIX):
                offered.add(payload)
    return offered


def typed_words(text: str) -> str:
    """Typed words as they are compared with those offered: any case, spacing or full stop."""
    return " ".join(text.casefold().strip().strip(".!\"'").split())


def typed_reply(text: str, tracker: DialogueStateTracker | None) -> str | None:
    """The payload that the words typed stand for, if the assistant's last turn offered them in
    words (`TYPED_REPLIES_KEY`); None for anything else."""
    for event in reversed(tracker.events if tracker is not None else []):
        if isinstance(event, UserUttered):
            return None
        replies = event.metadata.get(TYPED_REPLIES_KEY) if isinstance(event, BotUttered) else None
        if isinstance(replies, dict):
            found = {typed_words(words): payload for words, payload in replies.items()}.get(typed_words(text))
            if isinstance(found, str) and found.startswith(INTENT_PREFIX):
                return found
    return None


def as_plain_text(text: str) -> str:
    """What the NLU pipeline reads for a message that merely starts with "/": the same words
    without the slashes, so that Rasa's intent syntax cannot apply and the rules see them all."""
    return text.lstrip(INTENT_PREFIX).lstrip() or text


def user_messages_in_session(tracker: DialogueStateTracker) -> int:
    """How many messages the patient has sent since the latest session started."""
    count = 0
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            break
        if isinstance(event, UserUttered):
            count += 1
    return count


class ActionServerState:
    """Whether the action server has just failed, for this process.

    After a failure, every action is answered without it for `PAUSE_SECONDS`, at once, rather
    than each waiting `ACTION_SECONDS` for a server that is down: a new conversation's opening
    and its first answer would otherwise wait twice. Then it is tried again. Its state is part of
    the server's `/health`, and each outage is logged once when it starts and once when it ends.
    """

    PAUSE_SECONDS = 10.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.down_since: float | None = None  # wall-clock time, for operators
        self.retry_at = 0.0

    def should_try(self) -> bool:
        return self.down_since is None or self.clock() >= self.retry_at

    def failed(self, action: str, error: BaseException) -> None:
        if self.down_since is None:
            self.down_since = time.time()
            logger.error(
                "The action server could not run %s (%s): answering without it, trying again every %.0f s",
                action,
                type(error).__name__,
                self.PAUSE_SECONDS,
            )
        self.retry_at = self.clock() + self.PAUSE_SECONDS

    def succeeded(self) -> None:
        if self.down_since is not None:
            logger.warning("The action server answers again, after %.0f s", time.time() - self.down_since)
            self.down_since = None

    def health(self) -> Dict[str, Any]:
        since = self.down_since
        return {"reachable": since is None, "down_since": None if since is None else _iso(since)}


ACTION_SERVER = ActionServerState()


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")


class SessionStartCarryingSlots(ActionSessionStart):
    """Rasa's own session start, carrying over each slot's value once.

    Rasa's carries over every `SlotSet` event of the session that ends, those it carried itself
    included, so each new session starts longer than the last: the very growth a bounded session
    is meant to stop."""

    @staticmethod
    def _slot_set_events_from_tracker(tracker: DialogueStateTracker) -> List[SlotSet]:
        return [
            SlotSet(name, value) for name, value in tracker.current_slot_values().items() if value is not None
        ]


class FailSafeRemoteAction(ThisTurnOnly):
    """A custom action that never leaves the patient in silence when the action server fails."""

    state = ACTION_SERVER

    async def run(
        self,
        output_channel: OutputChannel,
        nlg: NaturalLanguageGenerator,
        tracker: DialogueStateTracker,
        domain: Domain,
    ) -> List[Event]:
        if self.state.should_try():
            try:
                events = await asyncio.wait_for(
                    super().run(output_channel, nlg, tracker, domain), ACTION_SECONDS
                )
            except ActionExecutionRejection:
                raise  # a form's "not valid": part of a conversation, not a failure
            except Exception as error:  # noqa: BLE001 (down, frozen or answering nonsense: the same to a patient)
                self.state.failed(self.name(), error)
                metrics.answered_without_action_server()
            else:
                self.state.succeeded()
                return events
        if self.name() == ACTION_SESSION_START_NAME:
            return await self._start_session_without_action_server(output_channel, nlg, tracker, domain)
        return [await _utterance(nlg, CANNOT_LOOK_UP, tracker, output_channel)]

    @staticmethod
    async def _start_session_without_action_server(
        output_channel: OutputChannel,
        nlg: NaturalLanguageGenerator,
        tracker: DialogueStateTracker,
        domain: Domain,
    ) -> List[Event]:
        """Rasa's own session start (slots carried over, then listening), opened with the notice."""
        events = await SessionStartCarryingSlots().run(output_channel, nlg, tracker, domain)
        notice = await _utterance(nlg, OPENING_NOTICE, tracker, output_channel)
        listening = len(events) - 1
        assert (
            isinstance(events[listening], ActionExecuted)
            and events[listening].action_name == ACTION_LISTEN_NAME
        )
        return [*events[:listening], notice, events[listening]]


def fail_safe(
    action_for_name_or_text: Callable[[str, Domain, EndpointConfig | None], Action],
) -> Callable[[str, Domain, EndpointConfig | None], Action]:
    """Rasa's `action_for_name_or_text`, giving a `FailSafeRemoteAction` wherever it would give
    a `RemoteAction`. Rasa looks every action up through it, the processor and the two-stage
    fallback's stages alike, so `connectors.server` puts this in its place."""

    def fail_safe_action_for_name_or_text(
        action_name_or_text: str, domain: Domain, action_endpoint: EndpointConfig | None
    ) -> Action:
        action = action_for_name_or_text(action_name_or_text, domain, action_endpoint)
        if type(action) is RemoteAction:  # noqa: E721 (exactly Rasa's; forms keep their own class)
            return FailSafeRemoteAction(action_name_or_text, action_endpoint)
        return action

    fail_safe_action_for_name_or_text.fail_safe = True  # type: ignore[attr-defined]
    return fail_safe_action_for_name_or_text


async def _utterance(
    nlg: NaturalLanguageGenerator, response: str, tracker: DialogueStateTracker, output_channel: OutputChannel
) -> BotUttered:
    draft = await nlg.generate(response, tracker, output_channel.name())
    if not draft:
        raise LookupError(f"The domain has no response {response}")
    draft["utter_action"] = response
    return create_bot_utterance(draft)


class SafeMessageProcessor(MessageProcessor):
    """Rasa's processor with the three changes described in this module's docstring, each turn
    counted for the metrics."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(self.nlg, ServerResponses):
            # The opening notice says where conversations are kept: true of this server's store.
            self.nlg.kept_in_database = isinstance(conversation_store(self.tracker_store), SQLTrackerStore)

    async def handle_message(self, message: UserMessage) -> List[Dict[str, Any]] | None:
        """Rasa's turn, counted and timed (`connectors.metrics`), its log lines carrying the
        conversation's hashed id (`safety.log_lines`)."""
        with log_lines.conversation(message.sender_id), metrics.turn() as turn:
            answer = await super().handle_message(message)
            log_lines.timing(logger, "turn", time.perf_counter() - turn.started)
            return answer

    async def parse_message(
        self,
        message: UserMessage,
        tracker: DialogueStateTracker | None = None,
        only_output_properties: bool = True,
    ) -> Dict[str, Any]:
        parse_data = await self._parse_message_as_offered(message, tracker, only_output_properties)
        metrics.understood((parse_data.get("intent") or {}).get("name"))
        return parse_data

    async def _run_action(
        self,
        action: Action,
        tracker: DialogueStateTracker,
        output_channel: OutputChannel,
        nlg: NaturalLanguageGenerator,
        prediction: PolicyPrediction,
    ) -> bool:
        metrics.acted(action.name())
        return await super()._run_action(action, tracker, output_channel, nlg, prediction)

    async def _parse_message_as_offered(
        self,
        message: UserMessage,
        tracker: DialogueStateTracker | None,
        only_output_properties: bool,
    ) -> Dict[str, Any]:
        text = message.text or ""
        offered = typed_reply(text, tracker)
        if offered is not None:
            return await self._parse_as(offered, message, tracker, only_output_properties)
        if (
            not text.startswith(INTENT_PREFIX)
            or text in offered_payloads(tracker)
            or (text.startswith(FEEDBACK_PAYLOAD_PREFIX) and text in feedback_offered(tracker))
        ):
            return await super().parse_message(message, tracker, only_output_properties)
        logger.info("A message starting with '/' that was not an offered payload was read as text")
        return await self._parse_as(as_plain_text(text), message, tracker, only_output_properties)

    async def _parse_as(
        self,
        read: str,
        message: UserMessage,
        tracker: DialogueStateTracker | None,
        only_output_properties: bool,
    ) -> Dict[str, Any]:
        """The message understood as if it said `read`; the record keeps what the patient typed."""
        plain = UserMessage(
            read,
            message.output_channel,
            message.sender_id,
            input_channel=message.input_channel,
            message_id=message.message_id,
            metadata=message.metadata,
        )
        parse_data = await super().parse_message(plain, tracker, only_output_properties)
        parse_data["text"] = message.text or ""
        return parse_data

    async def _update_tracker_session(
        self,
        tracker: DialogueStateTracker,
        output_channel: OutputChannel,
        metadata: Dict | None = None,
    ) -> None:
        """Start a new session when the last one expired (Rasa's rule), or, silently, when it
        holds MAX_USER_MESSAGES_PER_SESSION messages."""
        if (
            tracker.applied_events()
            and not self._has_session_expired(tracker)
            and user_messages_in_session(tracker) >= MAX_USER_MESSAGES_PER_SESSION
        ):
            logger.debug("A long conversation starts a new session, slots carried over")
            await self._run_action(
                action=SessionStartCarryingSlots(),
                tracker=tracker,
                output_channel=output_channel,
                nlg=self.nlg,
                prediction=PolicyPrediction.for_action_name(self.domain, ACTION_SESSION_START_NAME),
            )
            return
        await super()._update_tracker_session(tracker, output_channel, metadata)
