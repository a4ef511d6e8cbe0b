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

It is FAIL-OPEN. When Redis cannot be reached as a conversation's lock is taken (or while it is
being waited for), the message is handled under a lock held in this process alone; Rasa's own
lock store would fail every message instead, emergencies included, with no reply (and, with its
10 s socket timeout, hold every other message up meanwhile: RasaHQ/rasa#6226). A patient,
perhaps describing an emergency, must be answered. The cost is that during the outage two servers
could handle one conversation at once; the SQL tracker store records both turns (it stores
whatever events it does not have yet), so nothing is lost, though one reply may not have known
the other's question. The outage is logged once at ERROR as it begins and at INFO when Redis is
back; while it lasts, Redis is tried at most once every few seconds, and each try gives up after
`SOCKET_SECONDS`, so a frozen Redis does not hold up every message.

Use it in endpoints.yml as `lock_store: type: connectors.lock_store.SharedRedisLockStore`, with
the same settings as Rasa's `redis` lock store; `python -m connectors.endpoints` does this.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator

from rasa.core.lock import TicketLock
from rasa.core.lock_store import (
    DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX,
    LOCK_LIFETIME,
    InMemoryLockStore,
    LockError,
    RedisLockStore,
)
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import RedisError
from redis.lock import Lock

from connectors import metrics
from connectors.tracker_store import StoreOutage

logger = logging.getLogger(__name__)

# A change to a lock takes a few Redis round trips; a server that dies holding the mutex frees it
# after MUTEX_LIFETIME_SECONDS. Waiting longer than MUTEX_WAIT_SECONDS means Redis is in trouble,
# and the message is handled under this process's lock.
MUTEX_LIFETIME_SECONDS = 5.0
MUTEX_WAIT_SECONDS = 10.0
MUTEX_POLL_SECONDS = 0.002
# How many times a message whose ticket expired while it waited may take a new one.
QUEUE_AGAIN_TIMES = 3
# How long one Redis command may take (Rasa's default is 10 s, during which every message waits:
# Rasa's Redis calls block the event loop). Locks are a few round trips of a millisecond.
SOCKET_SECONDS = 1.0
# What Redis being unreachable looks like: redis-py's errors (a mutex not obtained in time is one),
# the socket's, and Rasa's wrapping of either when it issues a ticket.
REDIS_FAILURES = (RedisError, OSError, LockError)


class SharedRedisLockStore(RedisLockStore):
    """`RedisLockStore` whose read-change-write steps are atomic across processes, and which
    falls back to a lock in this process while Redis cannot be reached."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **settings: Any) -> None:
        # Rasa builds a lock store named by module path with `endpoint_config` alone.
        if endpoint_config is not None:
            settings = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **settings}
        settings.setdefault("socket_timeout", SOCKET_SECONDS)
        super().__init__(**settings)
        self.local = InMemoryLockStore()
        self.outage = StoreOutage(
            "Redis (the conversation locks)", logger, back_level=logging.INFO, metric="redis"
        )

    @asynccontextmanager
    async def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncGenerator[TicketLock, None]:
        """Rasa's ticket lock in Redis; this process's own while Redis cannot be reached."""
        waiting_since = time.perf_counter()
        ticket = self._shared_ticket(conversation_id, lock_lifetime)
        shared: TicketLock | None = None
        queued_again = 0
        while ticket is not None and shared is None:
            try:
                shared = await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
            except LockError:
                # Rasa gives up on a message whose ticket expired while it queued (behind a turn
                # of a server that died, say) once the lock is deleted: the message would be
                # answered by nobody and never stored. The lock being gone means nobody holds it.
                if queued_again == QUEUE_AGAIN_TIMES:
                    raise
                queued_again += 1
                logger.warning("A message's ticket expired while it waited for its turn: it queues again")
                ticket = self._shared_ticket(conversation_id, lock_lifetime)
            except (RedisError, OSError) as error:
                self._redis_failed(error)  # the ticket expires with the lock's lifetime
                ticket = None
        if ticket is None:
            metrics.locked_locally()
            async with self.local.lock(conversation_id, lock_lifetime, wait_time_in_seconds) as local:
                metrics.lock_waited(time.perf_counter() - waiting_since)
                yield local
            return
        metrics.lock_waited(time.perf_counter() - waiting_since)
        try:
            yield shared  # type: ignore[misc]
        finally:
            self._return_ticket(conversation_id, ticket)

    def health(self) -> dict[str, Any]:
        return {"store": "redis", **self.outage.health()}

    def _shared_ticket(self, conversation_id: str, lock_lifetime: float) -> int | None:
        """A ticket in Redis, or None: Redis is down, or this conversation is already being
        handled under this process's own lock (its next message waits for that one)."""
        if self.local.get_lock(conversation_id) is not None or not self.outage.should_try():
            return None
        try:
            ticket = self.issue_ticket(conversation_id, lock_lifetime)
        except REDIS_FAILURES as error:
            self._redis_failed(error)
            return None
        self.outage.answered()
        self.outage.end("conversations are locked across servers again")
        return ticket

    async def _acquire_lock(
        self, conversation_id: str, ticket: int, wait_time_in_seconds: float
    ) -> TicketLock:
        """Rasa's wait for a ticket's turn, which also gives up once the ticket itself has expired.

        Rasa's notices only a lock that was deleted. Behind a killed server's ticket, a message's
        own ticket can expire first; when the dead one expires too, the emptied lock is saved
        back, not deleted, and Rasa waits for a turn that never comes: the patient is told "I
        can't look that up" and the message is never stored. The LockError here makes `lock`
        queue it again with a new ticket.
        """
        while True:
            lock = self.get_lock(conversation_id)
            if not lock:
                break
            if not lock.is_locked(ticket):
                return lock
            if not any(queued.number == ticket and not queued.has_expired() for queued in lock.tickets):
                break
            await asyncio.sleep(wait_time_in_seconds)
            self.update_lock(conversation_id)
        raise LockError(f"A message's ticket for conversation '{conversation_id}' expired before its turn.")

    def _return_ticket(self, conversation_id: str, ticket: int) -> None:
        try:
            self.cleanup(conversation_id, ticket)
        except REDIS_FAILURES as error:
            self._redis_failed(error)  # the ticket expires with the lock's lifetime

    def _redis_failed(self, error: BaseException) -> None:
        self.outage.failed(
            error,
            "each server handles messages under its own locks until it is back, so two servers "
            "could answer one conversation at once",
        )

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
