"""The website widget's channel: Rasa's socket.io channel, with conversations that only their own
page can join.

Rasa 3.6's channel lets the page choose its conversation id, takes the id of every message from
the message itself, and accepts sockets from any web origin. So a socket from anywhere that sent a
victim's id received every reply to the victim and could write into the conversation. Its session
persistence also never delivered an answer with the python-socketio it installs (it does not
await `enter_room`; RasaHQ/rasa#13027). Here:

- **The server issues conversations.** A page asking for a new one (`session_request` with no
  valid id) gets a new random id and a token for it: the id and its HMAC signature under
  `WIDGET_SESSION_SECRET` (`ConversationTokens`). The page keeps the token (in the tab's
  sessionStorage) and shows it again after a reload; a token the server did not sign, or one for
  a deleted conversation, just gets a new conversation.
- **A socket speaks for one conversation:** the one its `session_request` was confirmed for. A
  message's own `session_id` is ignored, and a socket that has not been confirmed is not heard.
- **Only the deployment's own pages may connect:** the page's own address (as behind nginx), and
  the origins in `WIDGET_ORIGINS` (comma-separated; `make run` gives the widget's address there).
- **Every message goes through the gate** (`connectors.gate`), with the same length limit and
  replies as every channel; socket.io's own packets are limited to `MAX_PACKET_BYTES`.
- **"Delete this conversation"** (the `delete_conversation` event, or the words typed) deletes the
  conversation on the server; the page is told (`conversation_deleted`) and starts a new one.
- **"Was this helpful?"** under an answer is sent to the page as a message of its own; its presses
  come back as the `answer_feedback` event, kept in the feedback store for an answer of the
  socket's own conversation, never as a message of the conversation, and the page is told
  whether it was kept (`feedback_saved`). A few presses a conversation, then one every two
  seconds (connectors/feedback.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from typing import Any, Awaitable, Callable, Dict, Mapping

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from connectors.feedback import FEEDBACK_KEY, PRESS_EVENT, SAVED_EVENT, for_the_page, prompt_of, record_press
from connectors.gate import Gate, Outcome, Refused, TokenBucket, message_text
from connectors.pictures import PICTURE, picture_of
from feedback.store import ANSWER_ID

logger = logging.getLogger(__name__)

SECRET_VARIABLE = "WIDGET_SESSION_SECRET"
ORIGINS_VARIABLE = "WIDGET_ORIGINS"
# A socket.io packet carries one message (at most 2,000 characters, up to 6 bytes each as
# JSON-escaped text) and its event name; python-socketio's default allows a megabyte.
MAX_PACKET_BYTES = 16 * 1024
DELETED_EVENT = "conversation_deleted"
DELETE_EVENT = "delete_conversation"
CONVERSATION_PREFIX = "w"  # widget conversations are told apart from other channels' ids
# A patient presses "No" and a reason under an answer or two; more than this is not a person.
FEEDBACK_PRESSES_AT_ONCE = 6
FEEDBACK_PRESSES_PER_SECOND = 0.5


class ConversationTokens:
    """Conversation ids the server issues, and the signed tokens the pages keep for them."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    @classmethod
    def from_environment(cls, environment: Mapping[str, str] = os.environ) -> ConversationTokens:
        secret = environment.get(SECRET_VARIABLE, "").strip()
        if not secret:
            # Fine for one server that keeps conversations in memory (`make run`): a restart
            # forgets them anyway. Several servers must share one secret (docker compose asks).
            logger.info("%s is not set: widget conversations last while this server runs", SECRET_VARIABLE)
            return cls(secrets.token_bytes(32))
        return cls(secret.encode())

    def new(self) -> tuple[str, str]:
        """A new conversation id (32 random hex digits behind the widget's prefix) and its token."""
        conversation = CONVERSATION_PREFIX + secrets.token_hex(16)
        return conversation, f"{conversation}.{self._signature(conversation)}"

    def conversation(self, token: Any) -> str | None:
        """The conversation a token is for, if this deployment signed it."""
        if not isinstance(token, str) or token.count(".") != 1:
            return None
        conversation, signature = token.split(".")
        valid = hmac.compare_digest(signature.encode(), self._signature(conversation).encode())
        return conversation if valid and conversation.startswith(CONVERSATION_PREFIX) else None

    def _signature(self, conversation: str) -> str:
        digest = hmac.new(self.secret, conversation.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def allowed_origins(environment: Mapping[str, str] = os.environ) -> frozenset[str]:
    listed = environment.get(ORIGINS_VARIABLE, "")
    return frozenset(origin.strip().rstrip("/") for origin in listed.split(",") if origin.strip())


def same_origin(origin: str, environ: Dict[str, Any]) -> bool:
    """Whether the page is served from the address the socket connects to (as behind nginx)."""
    host = environ.get("HTTP_X_FORWARDED_HOST") or environ.get("HTTP_HOST")
    scheme = environ.get("HTTP_X_FORWARDED_PROTO") or environ.get("wsgi.url_scheme") or "http"
    return bool(host) and origin == f"{scheme.split(',')[0].strip()}://{host.split(',')[0].strip()}"


def client_address(environ: Dict[str, Any]) -> str | None:
    request = environ.get("sanic.request")
    return (request.remote_addr or request.ip) if request is not None else None


class PictureSocketIOOutput(SocketIOOutput):
    """Rasa's socket.io output, sending a picture of a result to the page as `{"picture": ...}`
    (Rasa's own passes a custom payload's keys to `emit` as keyword arguments), and an answer's
    "Was this helpful?" after it as `{"feedback": ...}`."""

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        prompt = prompt_of(message)
        await super().send_response(recipient_id, message)
        if prompt is not None:
            await self._send_message(recipient_id, {FEEDBACK_KEY: for_the_page(prompt)})

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        picture = picture_of(json_message)
        if picture is None:
            await super().send_custom_json(recipient_id, json_message, **kwargs)
            return
        await self._send_message(recipient_id, {PICTURE: picture})


class SocketIOInput(RasaSocketIOInput):
    """Rasa's socket.io input channel, with server-issued conversations bound to their sockets."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        origins = allowed_origins()
        tokens = ConversationTokens.from_environment()

        def origin_allowed(origin: str | None, environ: Dict[str, Any]) -> bool:
            return origin is not None and (origin in origins or same_origin(origin, environ))

        sio = AsyncServer(
            async_mode="sanic", cors_allowed_origins=origin_allowed, max_http_buffer_size=MAX_PACKET_BYTES
        )
        webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio  # Rasa's get_output_channel() reads it
        namespace = self.namespace or "/"
        conversation_of: dict[str, str] = {}  # socket id -> the conversation it speaks for
        app_of: dict[str, Sanic] = {}
        presses = TokenBucket(burst=FEEDBACK_PRESSES_AT_ONCE, per_second=FEEDBACK_PRESSES_PER_SECOND)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: Dict[str, Any], auth: Any = None) -> bool:
            request = environ.get("sanic.request")
            if request is None:
                return False
            app_of[sid] = request.app
            return True

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str) -> None:
            conversation_of.pop(sid, None)
            app_of.pop(sid, None)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any) -> None:
            """Rejoin the conversation a page shows the token of, or start a new one."""
            token = data.get("session_id") if isinstance(data, dict) else None
            conversation = tokens.conversation(token)
            if conversation is None:
                conversation, token = tokens.new()
            previous = conversation_of.get(sid)
            if previous is not None and previous != conversation:
                await sio.leave_room(sid, previous, namespace=namespace)
            conversation_of[sid] = conversation
            await sio.enter_room(sid, conversation, namespace=namespace)
            await sio.emit("session_confirm", token, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def user_message(sid: str, data: Any) -> None:
            conversation = conversation_of.get(sid)
            if conversation is None:
                logger.warning("A socket sent a message before it had a conversation: ignored")
                return
            try:
                text = message_text(data.get("message") if isinstance(data, dict) else None)
            except Refused:
                logger.warning("A socket sent a message with no text: ignored")
                return
            gate = Gate.of(app_of[sid])
            output = PictureSocketIOOutput(sio, self.bot_message_evt)
            environ = sio.get_environ(sid, namespace=namespace) or {}
            outcome = await gate.handle(
                on_new_message, text, output, conversation, self.name(), None, client_address(environ)
            )
            if outcome is Outcome.DELETED:
                await self._forget(sio, conversation, namespace, conversation_of)

        @sio.on(PRESS_EVENT, namespace=namespace)
        async def answer_feedback(sid: str, data: Any = None) -> None:
            """A press of "Was this helpful?": kept apart from the conversation, never read as a
            message, so it can neither hold up nor replace any reply."""
            conversation = conversation_of.get(sid)
            if conversation is None:
                return
            answer = data.get("answer") if isinstance(data, dict) else None
            if presses.allow(conversation):
                saved = await record_press(getattr(app_of[sid].ctx, "agent", None), conversation, data)
            else:
                logger.warning("Feedback pressed too fast on one conversation: not kept")
                saved = False
            shown = answer if isinstance(answer, str) and ANSWER_ID.fullmatch(answer) else None
            await sio.emit(SAVED_EVENT, {"answer": shown, "saved": saved}, room=sid, namespace=namespace)

        @sio.on(DELETE_EVENT, namespace=namespace)
        async def delete_conversation(sid: str, _data: Any = None) -> None:
            conversation = conversation_of.get(sid)
            if conversation is None:
                return
            output = PictureSocketIOOutput(sio, self.bot_message_evt)
            if await Gate.of(app_of[sid]).delete_on_request(conversation, output):
                await self._forget(sio, conversation, namespace, conversation_of)

        return webhook

    @staticmethod
    async def _forget(
        sio: AsyncServer, conversation: str, namespace: str, conversation_of: dict[str, str]
    ) -> None:
        """Tell every page showing a deleted conversation, and stop hearing its sockets."""
        await sio.emit(DELETED_EVENT, room=conversation, namespace=namespace)
        for sid in [sid for sid, bound in conversation_of.items() if bound == conversation]:
            del conversation_of[sid]
            await sio.leave_room(sid, conversation, namespace=namespace)
