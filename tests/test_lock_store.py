"""The lock store keeps a conversation to one server at a time, even when several Rasa servers in
separate processes take tickets for it at the same instant (on the real Redis).

When Redis cannot be reached, every message is still handled (fail-open), one at a time per
conversation within each server; the outage is logged once as it begins and once as it ends, and
a Redis that hangs holds up one message for about a second, not every message.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import redis
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import EndpointConfig

import connectors.tracker_store as tracker_store_module
from connectors.endpoints import redis_lock_store
from connectors.lock_store import SOCKET_SECONDS, SharedRedisLockStore
from tests.live_bot import free_port

SERVERS = 3
TURNS_EACH = 60


def take_turns(
    redis_url: str, prefix: str, conversation: str, turns: int, start: multiprocessing.Barrier
) -> None:
    """One "server": handle `turns` messages of one conversation, each inside the lock.

    The work inside reads a counter, yields, and writes it back plus one: if two servers are ever
    inside at once, an increment is lost and the overlap is counted.
    """
    store = LockStore.create(EndpointConfig.from_dict(redis_lock_store(redis_url, prefix)))
    shared = redis.Redis.from_url(redis_url)

    async def handle_messages() -> None:
        for _ in range(turns):
            async with store.lock(conversation, wait_time_in_seconds=0.001):
                if shared.incr(f"{prefix}:inside") > 1:
                    shared.incr(f"{prefix}:overlaps")
                count = int(shared.get(f"{prefix}:count") or 0)
                await asyncio.sleep(0.001)
                shared.set(f"{prefix}:count", count + 1)
                shared.decr(f"{prefix}:inside")

    start.wait(timeout=30)
    asyncio.run(handle_messages())


def test_servers_taking_tickets_at_once_never_handle_one_conversation_together(redis_url: str) -> None:
    prefix = f"test{uuid.uuid4().hex[:8]}"
    conversation = "patient-1"
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(SERVERS)
    servers = [
        context.Process(target=take_turns, args=(redis_url, prefix, conversation, TURNS_EACH, start))
        for _ in range(SERVERS)
    ]
    for server in servers:
        server.start()
    try:
        for server in servers:
            server.join(timeout=60)
    finally:
        for server in servers:
            if server.is_alive():  # stuck waiting for a lock that will never be free
                server.kill()
                server.join()
    assert [server.exitcode for server in servers] == [0] * SERVERS, "a server failed or was stuck"

    shared = redis.Redis.from_url(redis_url)
    try:
        assert int(shared.get(f"{prefix}:overlaps") or 0) == 0
        assert int(shared.get(f"{prefix}:count")) == SERVERS * TURNS_EACH
        # Nothing is left behind once the conversation is quiet.
        assert shared.keys(f"{prefix}:lock*") == []
    finally:
        for key in shared.keys(f"{prefix}:*"):
            shared.delete(key)


def test_it_is_built_from_the_endpoints_file_as_rasa_builds_it(redis_url: str) -> None:
    settings = redis_lock_store(redis_url, "fromconfig")
    store = LockStore.create(EndpointConfig.from_dict(settings))
    assert isinstance(store, SharedRedisLockStore)
    assert store.key_prefix == "fromconfig:lock:"
    # Rasa's default is 10 s, for which every message would wait on a Redis that hangs.
    assert store.red.connection_pool.connection_kwargs["socket_timeout"] == SOCKET_SECONDS == 1
    assert asyncio.run(_ticket_then_cleanup(store)) == 0


async def _ticket_then_cleanup(store: SharedRedisLockStore) -> int:
    ticket = store.issue_ticket("patient-2")
    store.cleanup("patient-2", ticket)
    assert store.get_lock("patient-2") is None
    return ticket


@pytest.mark.parametrize("conversation", ["x", "lock-mutex:x"])
def test_a_conversation_id_cannot_collide_with_a_mutex(redis_url: str, conversation: str) -> None:
    store = SharedRedisLockStore(host="127.0.0.1", key_prefix="collide")
    assert store._mutex(conversation).name != store.key_prefix + conversation
    assert not store._mutex(conversation).name.startswith(store.key_prefix)


# -- when Redis is down ---------------------------------------------------------------------------


class RedisServer:
    """A redis-server of the test's own, on a free port, which the test can stop, freeze and
    start again (the shared one stays up for everyone else)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        if server.process is not None:
            server.thaw()
        server.stop()


def lock_store_for(server: RedisServer) -> SharedRedisLockStore:
    store = LockStore.create(EndpointConfig.from_dict(redis_lock_store(server.url, "outage")))
    assert isinstance(store, SharedRedisLockStore)
    return store


async def handle(store: LockStore, conversation: str, handled: list[str], seconds: float = 0.0) -> None:
    """One message, handled inside the conversation's lock as Rasa's agent does."""
    async with store.lock(conversation, wait_time_in_seconds=0.01):
        handled.append(f"{conversation} start")
        await asyncio.sleep(seconds)
        handled.append(f"{conversation} end")


def test_with_redis_down_every_message_is_handled_and_the_outage_is_logged_once_each_way(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rasa's own lock store fails every message with Redis down: the patient gets no reply."""
    monkeypatch.setattr(tracker_store_module, "PROBE_SECONDS", 0.2)
    caplog.set_level(logging.INFO, logger="connectors.lock_store")
    store = lock_store_for(own_redis)
    handled: list[str] = []

    async def scenario() -> tuple[dict, list[bytes]]:
        await handle(store, "existing", handled)
        own_redis.stop()
        for conversation in ("existing", "new", "existing", "another"):
            await handle(store, conversation, handled)
            await asyncio.sleep(0.25)  # each one tries Redis again
        down = store.health()
        own_redis.start()
        await asyncio.sleep(0.25)
        async with store.lock("existing"):
            held_in_redis = redis.Redis.from_url(own_redis.url).keys("outage:lock:*")
        return down, held_in_redis

    down, held_in_redis = asyncio.run(scenario())
    assert handled.count("existing end") == 3 and "new end" in handled and "another end" in handled
    assert down["store"] == "redis" and down["reachable"] is False and down["down_since"]
    assert held_in_redis == [b"outage:lock:existing"]  # back to Redis once it answers
    assert store.health() == {"store": "redis", "reachable": True, "down_since": None}
    logged = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert [level for level, _ in logged] == ["ERROR", "INFO"], logged
    assert logged[0][1].startswith("Redis (the conversation locks) cannot be reached (ConnectionError")
    assert "is back" in logged[1][1]


def test_with_redis_down_one_conversation_is_still_handled_one_message_at_a_time_on_a_server(
    own_redis: RedisServer,
) -> None:
    store = lock_store_for(own_redis)
    own_redis.stop()
    handled: list[str] = []

    async def scenario() -> None:
        await asyncio.gather(*(handle(store, "p1", handled, seconds=0.05) for _ in range(3)))

    asyncio.run(scenario())
    assert handled == ["p1 start", "p1 end"] * 3


def test_a_redis_that_hangs_holds_up_one_message_for_about_a_second_and_the_next_not_at_all(
    own_redis: RedisServer,
) -> None:
    store = lock_store_for(own_redis)
    handled: list[str] = []

    async def timed(conversation: str) -> float:
        started = time.monotonic()
        await handle(store, conversation, handled)
        return time.monotonic() - started

    async def scenario() -> tuple[float, float]:
        await handle(store, "p1", handled)
        own_redis.freeze()
        return await timed("p1"), await timed("p2")

    first, second = asyncio.run(scenario())
    assert first < SOCKET_SECONDS + 1.5
    assert second < 0.2
    assert handled.count("p1 end") == 2 and "p2 end" in handled


def test_a_message_whose_ticket_expires_while_it_waits_is_still_handled(own_redis: RedisServer) -> None:
    """A server killed mid-turn leaves its ticket to expire; the messages queued behind it wait
    longer than their own tickets last. Rasa then finds the lock deleted and drops the message
    (LockError): it was never handled, nor stored. Here it queues again."""
    store = lock_store_for(own_redis)
    store.issue_ticket("p1", 0.5)  # the killed server's turn: never returned
    handled: list[str] = []

    async def queued(seconds: float, lifetime: float, delay: float) -> None:
        await asyncio.sleep(delay)
        async with store.lock("p1", lock_lifetime=lifetime, wait_time_in_seconds=0.02):
            handled.append("start")
            await asyncio.sleep(seconds)
            handled.append("end")

    async def scenario() -> None:
        # The first waits out the dead ticket and takes 0.8 s; the second's ticket (0.7 s) expires
        # meanwhile, and the lock is deleted when the first returns its own.
        await asyncio.gather(queued(0.8, 3.0, 0.0), queued(0.0, 0.7, 0.05))

    asyncio.run(scenario())
    assert handled == ["start", "end", "start", "end"]
    assert redis.Redis.from_url(own_redis.url).keys("outage:lock:*") == []


def test_a_message_whose_ticket_expires_before_the_dead_one_is_still_handled(own_redis: RedisServer) -> None:
    """The messages queued behind a killed server's ticket may outlive their own tickets while
    nobody returns one, so the lock is never deleted: Rasa saves it back emptied and waits for a
    turn that never comes (the patient was told "I can't look that up" and the message was never
    stored). Here a message whose own ticket has expired queues again."""
    store = lock_store_for(own_redis)
    store.issue_ticket("p2", 0.5)  # the killed server's turn: never returned
    handled: list[str] = []

    async def queued() -> None:
        async with store.lock("p2", lock_lifetime=0.3, wait_time_in_seconds=0.02):
            handled.append("handled")

    asyncio.run(asyncio.wait_for(queued(), timeout=5))
    assert handled == ["handled"]
