"""Rasa's socket.io channel (the website widget's), with its session persistence repaired.

With `session_persistence: true` the widget keeps one conversation across page reloads: each new
socket asks to join the conversation's room (`session_request`), and every answer is sent to
that room. Rasa 3.6 calls python-socketio's `enter_room` without `await`; since python-socketio
5.10 that is a coroutine, so the socket never joined the room and no answer ever reached the page
(RasaHQ/rasa#13027). This subclass registers the same handler with the call awaited.

It also refuses a message too long to be a question (the widget allows 500 characters; another
client could send a megabyte, which ties up the model for a minute) with a short reply that
still says how to get urgent help, and ignores a message that is not a text at all.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARACTERS = 2000
TOO_LONG = (
    "That message is too long for me to read. Please ask one question, in a few words. "
    "If you need urgent help, call your local emergency number now."
)


class SocketIOInput(RasaSocketIOInput):
    """Rasa's socket.io input channel, whose sockets really join their conversation's room."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None  # set by the parent's blueprint()
        handle_message = sio.handlers[self.namespace or "/"][self.user_message_evt]

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_checked_message(sid: str, data: Any) -> None:
            """Rasa's own handling, for a message that is a text of a sensible length."""
            if not isinstance(data, dict) or not isinstance(data.get("message"), str):
                logger.warning(f"Socket {sid} sent a message with no text; it was ignored.")
                return
            if len(data["message"]) > MAX_MESSAGE_CHARACTERS:
                room = data.get("session_id") if self.session_persistence else sid
                await sio.emit(self.bot_message_evt, {"text": TOO_LONG}, room=room or sid)
                return
            await handle_message(sid, data)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Dict[str, Any] | None) -> None:
            """Join the conversation asked for, or a new one, and confirm which it is."""
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id")
            if not isinstance(session_id, str) or not session_id.strip():
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)
            logger.debug(f"Socket {sid} joined conversation {session_id}.")

        return webhook
