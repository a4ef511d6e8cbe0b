"""Rasa's Telegram channel, with a configurable Bot API address, and working replies.

Deployments may run their own Telegram Bot API server, and tests use a fake one on loopback, so
the API base URL is a setting (`api_base_url`). In group chats, a command addressed to another
bot ("/start@other_bot") is not for this one and is ignored.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Dict

from aiogram import Bot
from aiogram.bot.api import TELEGRAM_PRODUCTION, TelegramAPIServer
from aiogram.types import Message
from aiogram.utils.exceptions import TelegramAPIError
from rasa.core.channels.channel import InputChannel
from rasa.core.channels.telegram import TelegramInput as RasaTelegramInput
from rasa.core.channels.telegram import TelegramOutput
from rasa.shared.exceptions import RasaException

ADDRESSED_COMMAND = re.compile(r"^/\w+@(\w+)")


class TelegramOutputAt(TelegramOutput):
    """Rasa's Telegram output channel, talking to the configured Bot API server."""

    def __init__(self, access_token: str | None, api_base_url: str | None = None) -> None:
        server = (
            TelegramAPIServer.from_base(api_base_url.rstrip("/")) if api_base_url else TELEGRAM_PRODUCTION
        )
        Bot.__init__(self, access_token, server=server)


async def _set_webhook(channel: TelegramOutputAt, url: str) -> None:
    """Set the webhook, then close the HTTP session opened for it.

    Rasa sets the webhook in a short-lived event loop. Left open, the session stays tied to that
    closed loop and every later call fails with "Event loop is closed" (as Rasa 3.6's own
    Telegram channel does); closed, the next call opens a new one in the server's loop.
    """
    try:
        await channel.set_webhook(url=url)
    finally:
        await channel.session.close()


class TelegramInput(RasaTelegramInput):
    """Rasa's Telegram input channel with a configurable Bot API address."""

    api_base_url: str | None = None

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> InputChannel:
        settings = dict(credentials or {})
        api_base_url = settings.pop("api_base_url", None)
        channel = super().from_credentials(settings)
        channel.api_base_url = api_base_url
        return channel

    def get_output_channel(self) -> TelegramOutputAt:
        channel = TelegramOutputAt(self.access_token, self.api_base_url)
        try:
            asyncio.run(_set_webhook(channel, self.webhook_url))
        except TelegramAPIError as error:
            raise RasaException(f"Failed to set channel webhook: {error}") from error
        return channel

    def _is_user_message(self, message: Message) -> bool:  # type: ignore[override]
        if message.text is None:
            return False
        addressed = ADDRESSED_COMMAND.match(message.text)
        return addressed is None or addressed.group(1).lower() == str(self.verify).lower()
