"""Rasa's Telegram channel, with a configurable Bot API address, working replies, and only
Telegram allowed to post updates.

Deployments may run their own Telegram Bot API server, and tests use a fake one on loopback, so
the API base URL is a setting (`api_base_url`). In group chats, a command addressed to another
bot ("/start@other_bot") is not for this one and is ignored.

Rasa 3.6 takes any POST to /webhooks/telegram/webhook as an update from Telegram: anyone could
send one for any chat id, and the bot would message that chat and write into that person's
conversation. Here the webhook is set with a `secret_token`, which Telegram sends back in the
`X-Telegram-Bot-Api-Secret-Token` header of every update, and a request without it is refused
with 403 before the update is parsed (Rasa 3.6 has no setting for either). The token is
`TELEGRAM_SECRET_TOKEN` (setting `secret_token`) if given; if not, it is derived from the bot
token (base64url of HMAC-SHA256(bot token, "telegram-webhook-secret"), without "="), so every
server of a deployment agrees on it with no extra setting, and it changes when the bot token is
revoked. Rasa's /webhooks/telegram/set_webhook, which let anyone re-set the webhook, answers 404:
the channel sets the webhook itself when it starts.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import re
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Dict

from aiogram import Bot
from aiogram.bot.api import TELEGRAM_PRODUCTION, Methods, TelegramAPIServer
from aiogram.types import Message, User
from aiogram.utils.exceptions import TelegramAPIError
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.telegram import TelegramInput as RasaTelegramInput
from rasa.core.channels.telegram import TelegramOutput
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request

from connectors.feedback import as_quick_replies, prompt_of
from connectors.gate import MAX_CHARACTERS_SCANNED, through_the_gate
from connectors.pictures import as_text, picture_of
from connectors.processor import OPENING_PAYLOAD
from safety.red_flags import red_flag_checker

logger = logging.getLogger(__name__)
# A command addressed to a bot: Telegram's bot usernames are 5 to 32 letters, digits and "_",
# start with a letter and end in "bot". ("/ask_relapse@1.0 my chest hurts" names no bot.)
ADDRESSED_COMMAND = re.compile(r"^/\w+@([A-Za-z]\w{1,28}bot)\b", re.IGNORECASE)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TELEGRAM_OPENING = "/start"
SECRET_TOKEN_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts


def webhook_secret_token(access_token: str, configured: str | None = None) -> str:
    """The secret Telegram is to send with every update: the configured one, or one derived from
    the bot token, which only Telegram and this deployment know."""
    if configured:
        if not SECRET_TOKEN_FORMAT.fullmatch(configured):
            raise RasaException("TELEGRAM_SECRET_TOKEN must be 1 to 256 letters, digits, '_' or '-'.")
        return configured
    digest = hmac.new(access_token.encode(), b"telegram-webhook-secret", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class TelegramOutputAt(TelegramOutput):
    """Rasa's Telegram output channel, talking to the configured Bot API server."""

    def __init__(self, access_token: str | None, api_base_url: str | None = None) -> None:
        server = (
            TelegramAPIServer.from_base(api_base_url.rstrip("/")) if api_base_url else TELEGRAM_PRODUCTION
        )
        Bot.__init__(self, access_token, server=server)
        self._me: User | None = None

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Rasa's, then an answer's "Was this helpful?" with its two quick replies (an inline
        keyboard: a press sends its payload, within Telegram's 64 bytes)."""
        prompt = prompt_of(message)
        await super().send_response(recipient_id, message)
        if prompt is not None:
            question, buttons = as_quick_replies(prompt)
            await self.send_text_with_buttons(recipient_id, question, buttons)

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        """A picture of a result as its text table (Telegram draws nothing it is sent as data)."""
        picture = picture_of(json_message)
        if picture is None:
            await super().send_custom_json(recipient_id, json_message, **kwargs)
            return
        await self.send_text_message(recipient_id, as_text(picture))

    async def get_me(self) -> User:
        """The bot's own account, asked of the Bot API once. Rasa's webhook handler asks for it
        with every update, only to compare the username: a network call per message, and a lost
        message whenever the API is slow. The secret token is what proves an update is genuine."""
        if self._me is None:
            self._me = await super().get_me()
        return self._me


async def _set_webhook(channel: TelegramOutputAt, url: str, secret_token: str) -> None:
    """Set the webhook with its secret token, learn the bot's account, then close the HTTP
    session opened for them.

    aiogram 2.15's `set_webhook` has no `secret_token` argument, so the call is made by name.
    Rasa sets the webhook in a short-lived event loop. Left open, the session stays tied to that
    closed loop and every later call fails with "Event loop is closed" (as Rasa 3.6's own
    Telegram channel does); closed, the next call opens a new one in the server's loop.
    """
    try:
        await channel.request(Methods.SET_WEBHOOK, {"url": url, "secret_token": secret_token})
        await channel.get_me()
    finally:
        await channel.session.close()


class TelegramInput(RasaTelegramInput):
    """Rasa's Telegram input channel with a configurable Bot API address, taking updates from
    Telegram alone."""

    api_base_url: str | None = None
    secret_token: str = ""

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> InputChannel:
        settings = dict(credentials or {})
        api_base_url = settings.pop("api_base_url", None)
        secret_token = settings.pop("secret_token", None)
        channel = super().from_credentials(settings)
        channel.api_base_url = api_base_url
        channel.secret_token = webhook_secret_token(str(channel.access_token), secret_token)
        return channel

    def get_output_channel(self) -> TelegramOutputAt:
        channel = TelegramOutputAt(self.access_token, self.api_base_url)
        try:
            asyncio.run(_set_webhook(channel, self.webhook_url, self.secret_token))
        except TelegramAPIError as error:
            raise RasaException(f"Failed to set channel webhook: {error}") from error
        return channel

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        gated, remember_app = through_the_gate(on_new_message)

        async def opening_as_offered(message: UserMessage) -> None:
            # Telegram opens every chat with "/start": the assistant's own opening payload.
            if message.text == TELEGRAM_OPENING:
                message.text = OPENING_PAYLOAD
            await gated(message)

        telegram_webhook = super().blueprint(opening_as_offered)
        telegram_webhook.listener("before_server_start")(remember_app)

        @telegram_webhook.middleware("request")
        async def only_from_telegram(request: Request) -> response.HTTPResponse | None:
            route = request.route.path.rstrip("/") if request.route else ""
            if route.endswith("/set_webhook"):
                return response.text("Not found.", status=HTTPStatus.NOT_FOUND)
            if route.endswith("/webhook") and not self._sent_by_telegram(request):
                logger.warning("Refused a Telegram webhook request without this bot's secret token")
                return response.text("Forbidden.", status=HTTPStatus.FORBIDDEN)
            return None

        return telegram_webhook

    def _sent_by_telegram(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "").encode()
        return bool(self.secret_token) and hmac.compare_digest(given, self.secret_token.encode())

    def _is_user_message(self, message: Message) -> bool:  # type: ignore[override]
        """A text for this bot: not a command addressed to another bot, unless it describes an
        emergency, which is answered whoever it was addressed to."""
        if message.text is None:
            return False
        addressed = ADDRESSED_COMMAND.match(message.text)
        if addressed is None or addressed.group(1).lower() == str(self.verify).lower():
            return True
        return bool(red_flag_checker().check_all(message.text[:MAX_CHARACTERS_SCANNED]))
