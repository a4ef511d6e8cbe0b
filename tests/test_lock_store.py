"""The lock store keeps a conversation to one server at a time, even when several Rasa servers in
separate processes take tickets for it at the same instant (on the real Redis)."""

from __future__ import annotations

import asyncio
import multiprocessing
import uuid

import pytest
import redis
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import EndpointConfig

from connectors.endpoints import redis_lock_store
from connectors.lock_store import SharedRedisLockStore

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
