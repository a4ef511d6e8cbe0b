"""What the Rasa server sends the action server with each custom action: only what it reads.

Rasa 3.6 sends, with every call, the whole conversation (every event since it began, each
message with its full parse and intent ranking) and the whole domain. The project's actions read
the slots, the latest message and the channel it came by, nothing else (a test holds them to
that: `tests/test_action_calls.py`). So here a call carries the tracker's state with only this
turn's events, from the patient's latest message on, and no domain. That is less to write and to
read on both sides at every turn, and less of what a patient wrote on the wire.

Rasa 3.6 also opens a new HTTP connection for every call (`EndpointConfig.request` makes a new
client session each time and closes it). Here the calls share connections, kept open between
turns for less time than the action server keeps them (Sanic closes an idle one after 5 s), so a
call never goes out on a connection the server has just closed.

`connectors.processor.FailSafeRemoteAction` is built on this class.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Dict, List

import aiohttp
import rasa
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

# An idle connection is dropped after this long: under the action server's own 5 s.
IDLE_CONNECTION_SECONDS = 2.0
# One pool of connections per event loop (a Rasa server runs one; the tests run several).
_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.TCPConnector] = (
    weakref.WeakKeyDictionary()
)


def _pool() -> aiohttp.TCPConnector:
    loop = asyncio.get_running_loop()
    pool = _POOLS.get(loop)
    if pool is None or pool.closed:
        pool = _POOLS[loop] = aiohttp.TCPConnector(keepalive_timeout=IDLE_CONNECTION_SECONDS)
    return pool


async def close_connections() -> None:
    """Close this event loop's kept connections (when the server stops)."""
    pool = _POOLS.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.close()


class KeptConnections(EndpointConfig):
    """Rasa's endpoint, its calls sharing connections kept open between turns."""

    @classmethod
    def of(cls, endpoint: EndpointConfig | None) -> EndpointConfig | None:
        if endpoint is None or isinstance(endpoint, cls):
            return endpoint
        kept = cls.__new__(cls)
        kept.__dict__.update(vars(endpoint))
        return kept

    def session(self) -> aiohttp.ClientSession:
        """Rasa's session (its headers, authentication and time limit) on the shared pool."""
        auth = (
            aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
            if self.basic_auth
            else None
        )
        return aiohttp.ClientSession(
            headers=self.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=_pool(),
            connector_owner=False,
        )


def this_turn(tracker: DialogueStateTracker) -> List[Event]:
    """The events from the patient's latest message on (all of them before the first message)."""
    events = list(tracker.events)
    for position in range(len(events) - 1, -1, -1):
        if isinstance(events[position], UserUttered):
            return events[position:]
    return events


class ThisTurnOnly(RemoteAction):
    """A custom action whose call carries the state and this turn's events, not the history, on a
    kept connection."""

    def __init__(self, name: str, action_endpoint: EndpointConfig | None) -> None:
        super().__init__(name, KeptConnections.of(action_endpoint))

    def _action_call_format(self, tracker: DialogueStateTracker, domain: Domain) -> Dict[str, Any]:
        state = tracker.current_state(EventVerbosity.NONE)
        state["events"] = [event.as_dict() for event in this_turn(tracker)]
        return {
            "next_action": self._name,
            "sender_id": tracker.sender_id,
            "tracker": state,
            "version": rasa.__version__,
        }
