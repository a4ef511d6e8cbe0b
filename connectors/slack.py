"""Rasa's Slack channel, with a configurable API address and stricter request handling.

Deployments use other Slack hosts (GovSlack), and tests use a fake one on loopback, so the API
base URL is a setting (`api_base_url`). A request that is not signed with the app's signing
secret is refused with 401 before anything else, and an event Slack delivers again (a retry,
because the first answer took longer than Slack's 3 seconds) is acknowledged without being
processed again: the first delivery is already being answered, and a second answer would confuse
the person. A retry of a delivery that never arrived is answered.

A signature stays valid for five minutes, so a signed request sent again (replayed by whoever
saw it, or delivered twice) would be answered again: Rasa 3.6 does not look at the Events API's
`event_id` (RasaHQ/rasa#3882 is the retry side of the same problem). Here the first delivery of
an event_id is answered and any other within ten minutes is acknowledged with 200 and dropped.
The event ids are remembered in the process; with `LOCK_STORE_URL` (the Redis the Rasa servers
share for their locks) they are also claimed in Redis, `SET NX EX`, so that every server knows
what any of them has taken, under `LOCK_STORE_KEY_PREFIX` if set. If Redis cannot be reached,
the process's own memory decides and a warning is logged: a message is never refused for that.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import OrderedDict
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Dict, Mapping

import redis
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.slack import SlackBot
from rasa.core.channels.slack import SlackInput as RasaSlackInput
from sanic import Blueprint, response
from sanic.request import Request
from slack_sdk.web.async_client import AsyncWebClient

from connectors.endpoints import redis_lock_store
from connectors.feedback import as_quick_replies, prompt_of
from connectors.gate import through_the_gate
from connectors.pictures import picture_of, slack_blocks

logger = logging.getLogger(__name__)
SLACK_API = "https://slack.com/api/"
# Longer than Slack's signature window (5 minutes) and its retries (up to 5 minutes after).
REMEMBER_EVENTS_SECONDS = 600
MAX_REMEMBERED_EVENTS = 10_000  # per process; the oldest are forgotten first
REDIS_TIMEOUT_SECONDS = 0.5  # Slack wants its answer within 3 seconds


class SeenSlackEvents:
    """The Events API event ids already taken, remembered for REMEMBER_EVENTS_SECONDS: in this
    process, and in Redis when one is given, so that several Rasa servers share the memory."""

    def __init__(
        self,
        redis_client: redis.Redis | None = None,
        key_prefix: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_remembered: int = MAX_REMEMBERED_EVENTS,
    ) -> None:
        self._redis = redis_client
        self._namespace = f"{key_prefix}:slack-event:" if key_prefix else "slack-event:"
        self._clock = clock
        self._max_remembered = max_remembered
        self._expiries: OrderedDict[str, float] = OrderedDict()
        self._redis_failing = False

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> SeenSlackEvents:
        """Shared through the lock store's Redis (`LOCK_STORE_URL`, read by the lock store's
        rules) when there is one, else kept in this process alone."""
        if not environment.get("LOCK_STORE_URL"):
            return cls()
        key_prefix = environment.get("LOCK_STORE_KEY_PREFIX") or None
        settings = redis_lock_store(environment["LOCK_STORE_URL"], key_prefix)
        client = redis.Redis(
            host=settings["url"],
            port=settings["port"],
            db=settings["db"],
            username=settings.get("username"),
            password=settings.get("password"),
            ssl=settings["use_ssl"],
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        return cls(client, key_prefix)

    async def first_delivery(self, event_id: str) -> bool:
        """Whether this is the first time any server has been given this event."""
        if not self._remember(event_id):
            return False
        if self._redis is None:
            return True
        try:
            claimed = await asyncio.to_thread(
                self._redis.set, self._namespace + event_id, "1", nx=True, ex=REMEMBER_EVENTS_SECONDS
            )
        except (redis.RedisError, OSError) as error:
            if not self._redis_failing:
                logger.warning(
                    "Redis unreachable (%s): until it is back, this server alone tells repeated "
                    "Slack events apart",
                    type(error).__name__,
                )
            self._redis_failing = True
            return True
        if self._redis_failing:
            logger.info("Redis reachable again: Slack events are told apart across servers")
        self._redis_failing = False
        return bool(claimed)

    def _remember(self, event_id: str) -> bool:
        """Note the event in this process; False if it was already noted and has not expired."""
        now = self._clock()
        while self._expiries and next(iter(self._expiries.values())) <= now:
            self._expiries.popitem(last=False)
        if event_id in self._expiries:
            return False
        while len(self._expiries) >= self._max_remembered:
            self._expiries.popitem(last=False)
        self._expiries[event_id] = now + REMEMBER_EVENTS_SECONDS
        return True


def _event_id(request: Request) -> str | None:
    """The Events API event id of a signed event callback; other requests have none."""
    if request.headers.get("content-type") != "application/json":
        return None
    try:
        body = request.json
    except Exception:  # noqa: BLE001 (a body that is not JSON has no event id; Rasa answers it)
        return None
    event_id = body.get("event_id") if isinstance(body, dict) else None
    return event_id if isinstance(event_id, str) and event_id else None


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

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Rasa's, then an answer's "Was this helpful?" with its two quick replies."""
        prompt = prompt_of(message)
        await super().send_response(recipient_id, message)
        if prompt is not None:
            question, buttons = as_quick_replies(prompt)
            await self.send_text_with_buttons(recipient_id, question, buttons)

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        """A picture of a result as Block Kit, its text alternative as the message's text."""
        picture = picture_of(json_message)
        if picture is None:
            await super().send_custom_json(recipient_id, json_message, **kwargs)
            return
        channel = self.slack_channel or recipient_id
        await self._post_message(
            channel=channel, as_user=True, text=picture["alt"], blocks=slack_blocks(picture)
        )


class SlackInput(RasaSlackInput):
    """Rasa's Slack input channel with a configurable API address; retries and repeated events
    are not answered twice."""

    api_base_url: str = SLACK_API

    def __init__(self, *args: Any, seen_events: SeenSlackEvents | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen_events = seen_events or SeenSlackEvents()

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> InputChannel:
        settings = dict(credentials or {})
        api_base_url = settings.pop("api_base_url", None) or SLACK_API
        channel = super().from_credentials(settings)
        channel.api_base_url = api_base_url if api_base_url.endswith("/") else f"{api_base_url}/"
        channel.seen_events = SeenSlackEvents.from_environment(os.environ)
        return channel

    def get_output_channel(self, channel: str | None = None, thread_id: str | None = None) -> OutputChannel:
        return SlackBotAt(
            self.slack_token, channel or self.slack_channel, thread_id, self.proxy, self.api_base_url
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        gated, remember_app = through_the_gate(on_new_message)
        slack_webhook = super().blueprint(gated)
        slack_webhook.listener("before_server_start")(remember_app)

        @slack_webhook.middleware("request")
        async def check_before_handling(request: Request) -> response.HTTPResponse | None:
            if request.method != "POST":
                return None
            if not self.is_request_from_slack_authentic(request):
                logger.warning("Refused a Slack request with a missing or wrong signature")
                return response.text(
                    "Not signed with this app's signing secret.", status=HTTPStatus.UNAUTHORIZED
                )
            event_id = _event_id(request)
            if event_id is not None and not await self.seen_events.first_delivery(event_id):
                logger.info("Slack event %s delivered again, acknowledged, not answered again", event_id)
                return response.text("", status=HTTPStatus.OK, headers={"X-Slack-No-Retry": "1"})
            if event_id is None and request.headers.get(self.retry_num_header):
                # Not an event callback (a button press, say): nothing to tell a retry apart by.
                logger.info(
                    "Slack retry #%s acknowledged, not answered again", request.headers[self.retry_num_header]
                )
                return response.text("", status=HTTPStatus.OK, headers={"X-Slack-No-Retry": "1"})
            return None

        return slack_webhook
