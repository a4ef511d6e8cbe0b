"""Rasa's REST channel, for trusted programs, and the terminal chat that uses it, through the gate.

`POST /webhooks/rest/webhook` takes `{"sender": ID, "message": TEXT, "metadata": {...}}` and
answers with the list of the assistant's messages (or, with `?stream=true`, one JSON message per
line as each is sent). Rasa's own channel turned a malformed request into a 500 or a silent `[]`,
filed a missing sender under one shared conversation, "default", and stored whatever it was given.
Here:

- a body that is not a JSON object, a sender that is not a conversation id (`gate.CONVERSATION_ID`),
  a message that is not text, or metadata that is not a small object gets 400 with a plain
  error, and nothing is stored;
- with `REST_API_TOKEN` set (as in production), a request must carry it as
  `Authorization: Bearer <token>`, else 401: REST is for the deployer's own programs, not the
  public (the widget and the chat apps have channels of their own);
- the message goes through the gate (`connectors.gate`): "too long" and urgent help answered
  there, and never an empty answer; a client sending too fast gets 429 with a `Retry-After`, and
  the reply saying so (with urgent help, if the message needed it) as its body.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
from asyncio import Queue
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Mapping

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.console import CmdlineInput
from rasa.core.channels.rest import QueueOutputChannel
from rasa.core.channels.rest import RestInput as RasaRestInput
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from connectors.gate import Gate, Outcome, Refused, conversation_id, message_metadata, message_text

logger = logging.getLogger(__name__)

TOKEN_VARIABLE = "REST_API_TOKEN"
RETRY_AFTER_SECONDS = 2
STREAM_END = object()


def rest_token(environment: Mapping[str, str] = os.environ) -> bytes | None:
    token = environment.get(TOKEN_VARIABLE, "").strip()
    return token.encode() if token else None


def carries_token(request: Request, token: bytes) -> bool:
    scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(errors="replace"), token)


def refused(reason: str, status: int = HTTPStatus.BAD_REQUEST) -> HTTPResponse:
    return response.json({"error": reason}, status=status)


class RestInput(RasaRestInput):
    """`POST /webhooks/rest/webhook`, checked, through the gate."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        token = rest_token()

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse | ResponseStream:
            if token is not None and not carries_token(request, token):
                return refused("This channel needs the deployment's REST token.", HTTPStatus.UNAUTHORIZED)
            try:
                body = request.json
            except InvalidUsage:
                return refused("The body must be a JSON object.")
            if not isinstance(body, dict):
                return refused("The body must be a JSON object.")
            try:
                sender = conversation_id(body.get("sender"))
                text = message_text(body.get("message"))
                metadata = message_metadata(body.get("metadata"))
            except Refused as error:
                return refused(str(error))

            gate = Gate.of(request.app)
            client = request.remote_addr or request.ip
            if bool_arg(request, "stream", default=False):
                return self._streamed(gate, on_new_message, text, sender, metadata, client)
            collector = CollectingOutputChannel()
            outcome = await gate.handle(
                on_new_message, text, collector, sender, self.name(), metadata, client
            )
            if outcome is Outcome.SLOWED:
                headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
                return response.json(collector.messages, status=HTTPStatus.TOO_MANY_REQUESTS, headers=headers)
            return response.json(collector.messages)

        return webhook

    def _streamed(
        self,
        gate: Gate,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        text: str,
        sender: str,
        metadata: dict[str, Any] | None,
        client: str | None,
    ) -> ResponseStream:
        """Each message written as a line as soon as it is sent (the terminal chat reads these)."""

        async def stream(reply: Any) -> None:
            queue: Queue = Queue()

            async def handle() -> None:
                try:
                    await gate.handle(
                        on_new_message, text, QueueOutputChannel(queue), sender, self.name(), metadata, client
                    )
                finally:
                    await queue.put(STREAM_END)

            task = asyncio.ensure_future(handle())
            while (message := await queue.get()) is not STREAM_END:
                await reply.write(json.dumps(message) + "\n")
            await task

        return response.stream(stream, content_type="text/event-stream")


class TerminalInput(RestInput):
    """The terminal chat of `make run` (Rasa's `cmdline`), which posts to the REST address."""

    @classmethod
    def name(cls) -> str:
        return CmdlineInput.name()

    def url_prefix(self) -> str:
        return RestInput.name()
