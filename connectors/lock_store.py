"""Rasa's Redis lock store, made safe for several Rasa servers sharing one Redis.

Rasa 3.6 changes a conversation's lock by reading it from Redis, changing it and writing it back
(GET, then SET). Two servers doing that for one conversation at the same moment can both be
given the same ticket, or one can write over a ticket the other has just issued. Both then
handle the conversation at once, and the SQL tracker store keeps only one of their turns: the
patient got an answer, but the conversation's record lost the question and its answer
(RasaHQ/rasa#9213; the maintainers' atomic version was reverted from the open-source release).

Here every change to a conversation's lock happens while holding a short Redis mutex for that
conversation (redis-py's `Lock`: SET NX with an expiry, released by a script that checks the
owner), so issuing, expiring and returning tickets are each atomic across every server.

Use it in endpoints.yml as `lock_store: type: connectors.lock_store.SharedRedisLockStore`, with
the same settings as Rasa's `redis` lock store; `python -m connectors.endpoints` does this.
"""

from __future__ import annotations

from typing import Any

from rasa.core.lock_store import DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX, LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.lock import Lock

# A change to a lock takes a few Redis round trips; a server that dies holding the mutex frees it
# after MUTEX_LIFETIME_SECONDS. Waiting longer than MUTEX_WAIT_SECONDS means Redis is in trouble,
# and Rasa reports the message as failed rather than handling it unlocked.
MUTEX_LIFETIME_SECONDS = 5.0
MUTEX_WAIT_SECONDS = 10.0
MUTEX_POLL_SECONDS = 0.002


class SharedRedisLockStore(RedisLockStore):
    """`RedisLockStore` whose read-change-write steps are atomic across processes."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **settings: Any) -> None:
        # Rasa builds a lock store named by module path with `endpoint_config` alone.
        if endpoint_config is not None:
            settings = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **settings}
        super().__init__(**settings)

    def _mutex(self, conversation_id: str) -> Lock:
        # `key_prefix` ends in "lock:"; the mutexes get a namespace of their own beside it, so no
        # conversation id can collide with a mutex's key.
        namespace = self.key_prefix.removesuffix(DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX) + "lock-mutex:"
        return self.red.lock(
            namespace + conversation_id,
            timeout=MUTEX_LIFETIME_SECONDS,
            blocking_timeout=MUTEX_WAIT_SECONDS,
            sleep=MUTEX_POLL_SECONDS,
        )

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        with self._mutex(conversation_id):
            return super().issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: str) -> None:
        with self._mutex(conversation_id):
            super().update_lock(conversation_id)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # One step: return the ticket, and delete the lock only if nobody took a ticket meanwhile.
        with self._mutex(conversation_id):
            super().cleanup(conversation_id, ticket_number)
