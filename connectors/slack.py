"""Rasa's Slack channel, with a configurable API address and stricter request handling.

Deployments use other Slack hosts (GovSlack), and tests use a fake one on loopback, so the API
base URL is a setting (`api_base_url`). A request that is not signed with the app's signing
secret is refused with 401 before anything else, and a retry from Slack (any request carrying
`X-Slack-Retry-Num`) is acknowledged without being processed again: the first delivery is
already being answered, and a second answer would confuse the person.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.slack import SlackBot
from rasa.core.channels.slack import SlackInput as RasaSlackInput
from sanic import Blueprint, response
from sanic.request import Request
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)
SLACK_API = "https://slack.com/api/"


class SlackBotAt(SlackBot):
    """Rasa's Slack output channel, posting to the configured API address."""

    def __init__(
        self,
        token: str,
        slack_channel: str | None = None,
        thread_id: str | None = None,
        proxy: str | None = None,
        api_base_url: str = SLACK_API,
    ) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        self.client = AsyncWebClient(token, proxy=proxy, base_url=api_base_url)


class SlackInput(RasaSlackInput):
    """Rasa's Slack input channel with a configurable API address; retries are not answered twice."""

    api_base_url: str = SLACK_API

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> InputChannel:
        settings = dict(credentials or {})
        api_base_url = settings.pop("api_base_url", None) or SLACK_API
        channel = super().from_credentials(settings)
        channel.api_base_url = api_base_url if api_base_url.endswith("/") else f"{api_base_url}/"
        return channel

    def get_output_channel(self, channel: str | None = None, thread_id: str | None = None) -> OutputChannel:
        return SlackBotAt(
            self.slack_token, channel or self.slack_channel, thread_id, self.proxy, self.api_base_url
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        slack_webhook = super().blueprint(on_new_message)

        @slack_webhook.middleware("request")
        async def check_before_handling(request: Request) -> response.HTTPResponse | None:
            if request.method != "POST":
                return None
            if not self.is_request_from_slack_authentic(request):
                logger.warning("Refused a Slack request with a missing or wrong signature")
                return response.text(
                    "Not signed with this app's signing secret.", status=HTTPStatus.UNAUTHORIZED
                )
            if request.headers.get(self.retry_num_header):
                logger.info(
                    "Slack retry #%s acknowledged, not answered again", request.headers[self.retry_num_header]
                )
                return response.text("", status=HTTPStatus.OK, headers={"X-Slack-No-Retry": "1"})
            return None

        return slack_webhook
