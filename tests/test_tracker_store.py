"""Where conversations are kept (connectors/tracker_store.py).

In memory: a turn rebuilds only the latest session, from the events themselves, however long the
conversation; conversations can be deleted and swept away when idle.

In the shared database (the real PostgreSQL): when the database goes away, a conversation keeps
its context, its new messages are kept, and once the database is back every message is stored
exactly once; the outage is logged once as it begins and once as it ends; what could not be kept
is logged with the conversation's id and how many events it lost; a database that hangs does not
hold the server up; and nothing a patient typed is ever logged.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import pytest
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore, SQLTrackerStore, TrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import connectors.tracker_store as tracker_store_module
from connectors.endpoints import sql_tracker_store
from connectors.tracker_store import MemoryTrackerStore, SharedTrackerStore, StoreUnavailable
from tests.services import scratch_database, set_connections_allowed

DOMAIN = Domain.from_dict(
    {
        "slots": {
            "treatment": {"type": "text", "influence_conversation": False, "mappings": [{"type": "custom"}]}
        }
    }
)
CANARY = "my canary symptom xq7"  # what a patient typed, which no log may contain
DAY = 24 * 60 * 60


# -- conversations, as Rasa's processor builds them --------------------------------------------

_latest = [0.0]


def moment() -> float:
    """Now, and always later than the last moment taken: events in the order they happen."""
    _latest[0] = max(time.time(), _latest[0] + 0.01)
    return _latest[0]


def start_session(tracker: DialogueStateTracker, at: float | None = None) -> None:
    """A new session, carrying the treatment slot over, as `action_session_start` does."""
    at = moment() if at is None else at
    treatment = tracker.get_slot("treatment")
    tracker.update(ActionExecuted(ACTION_SESSION_START_NAME, timestamp=at))
    tracker.update(SessionStarted(timestamp=at + 0.001))
    if treatment:
        tracker.update(SlotSet("treatment", treatment, timestamp=at + 0.002))
    tracker.update(ActionExecuted(ACTION_LISTEN_NAME, timestamp=at + 0.003))


def take_turn(
    tracker: DialogueStateTracker, said: str, treatment: str | None = None, at: float | None = None
) -> None:
    """The patient says something and the assistant answers, as one turn of Rasa's processor."""
    at = moment() if at is None else at
    tracker.update(UserUttered(said, {"name": "ask_relapse", "confidence": 0.97}, timestamp=at))
    if treatment:
        tracker.update(SlotSet("treatment", treatment, timestamp=at + 0.001))
    tracker.update(ActionExecuted("action_answer", timestamp=at + 0.002))
    tracker.update(BotUttered(f"About {treatment or 'that'}: 35 in 100 people.", timestamp=at + 0.003))
    tracker.update(ActionExecuted(ACTION_LISTEN_NAME, timestamp=at + 0.004))


async def turn(
    store: TrackerStore, sender: str, said: str, treatment: str | None = None
) -> DialogueStateTracker:
    """One turn as the processor handles it: retrieve (or start), change, save."""
    tracker = await store.get_or_create_tracker(sender, append_action_listen=False)
    if not tracker.events:
        start_session(tracker)
    take_turn(tracker, said, treatment)
    await store.save(tracker)
    return tracker


def said_by_patient(tracker: DialogueStateTracker | None) -> list[str]:
    return [event.text for event in (tracker.events if tracker else []) if isinstance(event, UserUttered)]


# -- the memory store ----------------------------------------------------------------------------


def test_in_memory_a_conversation_is_carried_on_from_its_latest_session() -> None:
    async def scenario() -> DialogueStateTracker | None:
        store = MemoryTrackerStore(DOMAIN)
        await turn(store, "p1", "how many relapsed on alemtuzumab?", "alemtuzumab")
        tracker = await store.retrieve("p1")
        start_session(tracker)  # e.g. the processor bounding a long conversation
        take_turn(tracker, "and on interferon?")
        await store.save(tracker)
        return await store.retrieve("p1")

    tracker = asyncio.run(scenario())
    assert said_by_patient(tracker) == ["and on interferon?"]
    assert tracker.get_slot("treatment") == "alemtuzumab"  # carried over into the new session


def test_in_memory_changing_a_retrieved_tracker_changes_nothing_stored() -> None:
    async def scenario() -> tuple[int, int]:
        store = MemoryTrackerStore(DOMAIN)
        await turn(store, "p1", "how many relapsed?")
        retrieved = await store.retrieve("p1")
        before = len(retrieved.events)
        take_turn(retrieved, "a turn that failed and was never saved")
        return before, len((await store.retrieve("p1")).events)

    before, after = asyncio.run(scenario())
    assert after == before


class Counting:
    """How many events are rebuilt from their stored form, and how many are replayed onto trackers."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.built = 0
        self.replayed = 0
        build, replay = Event.from_parameters, DialogueStateTracker.replay_events
        update = DialogueStateTracker.update

        def counted_build(*args: Any, **kwargs: Any) -> Any:
            self.built += 1
            return build(*args, **kwargs)

        def counted_update(tracker: DialogueStateTracker, event: Event, *args: Any, **kwargs: Any) -> None:
            self.replayed += 1
            update(tracker, event, *args, **kwargs)

        def counted_replay(tracker: DialogueStateTracker) -> None:
            self.replayed += len(tracker.events)
            replay(tracker)

        monkeypatch.setattr(Event, "from_parameters", staticmethod(counted_build))
        monkeypatch.setattr(DialogueStateTracker, "update", counted_update)
        monkeypatch.setattr(DialogueStateTracker, "replay_events", counted_replay)

    def reset(self) -> None:
        self.built = self.replayed = 0


@pytest.mark.parametrize("turns", [10, 400])
def test_in_memory_a_turn_rebuilds_only_the_latest_session_and_no_event(
    turns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a turn costs does not grow with the conversation: with sessions of at most 20 of the
    patient's messages, retrieve and save replay at most one session's events, and rebuild none
    from a stored form (Rasa's InMemoryTrackerStore rebuilds every stored event from JSON on every
    turn, then replays them, then replays the latest session again)."""
    session_messages = 20
    events_per_session = 4 + 5 * session_messages

    async def scenario() -> tuple[int, int]:
        store = MemoryTrackerStore(DOMAIN)
        tracker = await store.get_or_create_tracker("long", append_action_listen=False)
        for number in range(turns):
            if number % session_messages == 0:
                start_session(tracker)
            take_turn(tracker, f"question {number}")
            await store.save(tracker)
            tracker = await store.retrieve("long")
        counting = Counting(monkeypatch)
        tracker = await store.retrieve("long")
        take_turn(tracker, "one more")
        counting.reset()  # the turn's own new events are not the store's doing
        await store.save(tracker)
        await store.retrieve("long")
        return counting.built, counting.replayed

    built, replayed = asyncio.run(scenario())
    assert built == 0
    assert replayed <= events_per_session + 5


def test_in_memory_a_conversation_can_be_deleted() -> None:
    async def scenario() -> tuple[bool, bool, Any, Any]:
        store = MemoryTrackerStore(DOMAIN)
        await turn(store, "p1", "how many relapsed?")
        await turn(store, "p2", "how many relapsed?")
        return (
            await store.delete("p1"),
            await store.delete("p1"),
            await store.retrieve("p1"),
            await store.retrieve("p2"),
        )

    deleted, again, gone, kept = asyncio.run(scenario())
    assert (deleted, again, gone) == (True, False, None)
    assert said_by_patient(kept) == ["how many relapsed?"]


def test_in_memory_a_sweep_forgets_conversations_idle_for_longer_than_asked() -> None:
    now = [1_000_000.0]
    store = MemoryTrackerStore(DOMAIN, clock=lambda: now[0])

    async def scenario() -> tuple[int, list[str]]:
        await turn(store, "old", "how many relapsed?")
        now[0] += 31 * DAY
        await turn(store, "recent", "how many relapsed?")
        now[0] += 1 * DAY
        return await store.sweep(30 * DAY), sorted(await store.keys())

    assert asyncio.run(scenario()) == (1, ["recent"])


def test_rasa_builds_the_memory_store_from_the_endpoints_with_nothing_set() -> None:
    from connectors.endpoints import endpoints

    store = TrackerStore.create(EndpointConfig.from_dict(endpoints({})["tracker_store"]), DOMAIN)
    assert type(store) is MemoryTrackerStore
    assert store.health() == {
        "store": "memory",
        "reachable": True,
        "down_since": None,
        "unsaved_conversations": 0,
    }


# -- the shared store, on the real PostgreSQL ----------------------------------------------------


@pytest.fixture
def tracker_database(postgres_url: str) -> Iterator[str]:
    with scratch_database(postgres_url, "tracker_store") as url:
        yield url


def shared_store(url: str) -> SharedTrackerStore:
    """The store as Rasa builds it from the endpoints file `connectors.endpoints` writes."""
    store = TrackerStore.create(EndpointConfig.from_dict(sql_tracker_store(url)), DOMAIN)
    assert type(store) is SharedTrackerStore
    store.domain = DOMAIN
    return store


@pytest.fixture
def store(tracker_database: str) -> Iterator[SharedTrackerStore]:
    opened = shared_store(tracker_database)
    yield opened
    opened.close()


@contextmanager
def database_down(postgres_url: str, url: str) -> Iterator[None]:
    """The tracker database goes away (connections refused, open ones cut), then comes back."""
    database = make_url(url).database
    set_connections_allowed(postgres_url, database, allowed=False)
    try:
        yield
    finally:
        set_connections_allowed(postgres_url, database, allowed=True)


def stored_rows(url: str, sender: str) -> list[tuple[str, float]]:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return [
                (row.type_name, row.timestamp)
                for row in connection.execute(
                    text("SELECT type_name, timestamp FROM events WHERE sender_id = :sender ORDER BY id"),
                    {"sender": sender},
                )
            ]
    finally:
        engine.dispose()


def keys_of(events: Any) -> list[tuple[str, float]]:
    return [(event.type_name, event.timestamp) for event in events]


def test_through_a_database_outage_a_conversation_keeps_its_context_and_every_event_is_stored_once(
    store: SharedTrackerStore, tracker_database: str, postgres_url: str
) -> None:
    """As Rasa's agent uses it, behind its FailSafeTrackerStore, which would otherwise carry on
    with an empty conversation (the "and on interferon?" answered as "what is interferon")."""
    agent_view = FailSafeTrackerStore(store)

    async def scenario() -> tuple[DialogueStateTracker, list[str], list[str]]:
        await turn(agent_view, "p1", "how many relapsed on alemtuzumab?", "alemtuzumab")
        with database_down(postgres_url, tracker_database):
            during = await turn(agent_view, "p1", "and on interferon?")
            context = said_by_patient(during)
            slot = during.get_slot("treatment")
            await turn(agent_view, "p1", "I suddenly can't breathe")
        await asyncio.sleep(tracker_store_module.PROBE_SECONDS)
        final = await turn(agent_view, "p1", "thank you")  # the database answers: all is written
        return final, context, [slot]

    final, context, slot = asyncio.run(scenario())
    assert context == ["how many relapsed on alemtuzumab?", "and on interferon?"] and slot == ["alemtuzumab"]
    assert said_by_patient(final)[-2:] == ["I suddenly can't breathe", "thank you"]
    assert stored_rows(tracker_database, "p1") == keys_of(final.events)  # none lost, none twice
    assert store.health() == {
        "store": "database",
        "reachable": True,
        "down_since": None,
        "unsaved_conversations": 0,
    }


def test_an_outage_is_logged_once_as_it_begins_and_once_as_it_ends_with_what_was_written_back(
    store: SharedTrackerStore, tracker_database: str, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="connectors.tracker_store")

    async def scenario() -> int:
        await turn(store, "p1", "how many relapsed?")
        with database_down(postgres_url, tracker_database):
            for sender in ("p1", "p2", "p3"):
                await turn(store, sender, "and on interferon?")
            for sender in ("p1", "p2"):
                await turn(store, sender, "and infections?")
        return await store.flush()

    assert asyncio.run(scenario()) == 3
    logged = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert [level for level, _ in logged] == ["ERROR", "WARNING"], logged
    assert logged[0][1].startswith("The conversation database cannot be reached (OperationalError")
    assert "3 conversations written back" in logged[1][1]
    for sender, turns in (("p1", 3), ("p2", 2), ("p3", 1)):
        assert [name for name, _ in stored_rows(tracker_database, sender)].count("user") == turns


def test_when_too_many_conversations_wait_the_oldest_is_dropped_and_logged_with_what_it_lost(
    store: SharedTrackerStore,
    tracker_database: str,
    postgres_url: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tracker_store_module, "MAX_UNSAVED_CONVERSATIONS", 2)

    async def scenario() -> None:
        await turn(store, "first", "how many relapsed?")
        with database_down(postgres_url, tracker_database):
            await turn(store, "first", "and on interferon?")  # 5 events never stored
            await turn(store, "second", "how many relapsed?")
            await turn(store, "third", "how many relapsed?")

    asyncio.run(scenario())
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert any(
        "conversation first was dropped, and 4 of its events were never stored" in e for e in errors
    ), errors
    assert store.health()["unsaved_conversations"] == 2


def test_at_shutdown_each_unsaved_conversation_is_logged_with_what_it_lost(
    store: SharedTrackerStore, tracker_database: str, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> int:
        with database_down(postgres_url, tracker_database):
            tracker = await turn(store, "p1", "how many relapsed?")
            store.close()
        return len(tracker.events)

    unsaved = asyncio.run(scenario())
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert f"Shutting down with conversation p1 unsaved: {unsaved} events were never stored" in errors


def test_writing_a_conversation_again_stores_each_event_once(
    store: SharedTrackerStore, tracker_database: str
) -> None:
    async def scenario() -> DialogueStateTracker:
        tracker = await turn(store, "p1", "how many relapsed?")
        await store.save(tracker)  # a retry, or a write that timed out and finished late
        await store.save(tracker)
        return tracker

    tracker = asyncio.run(scenario())
    assert stored_rows(tracker_database, "p1") == keys_of(tracker.events)


def test_rasa_s_own_sql_store_reads_what_the_shared_store_writes(
    store: SharedTrackerStore, tracker_database: str
) -> None:
    async def scenario() -> tuple[DialogueStateTracker, DialogueStateTracker]:
        await turn(store, "p1", "how many relapsed?", "alemtuzumab")
        rasa = SQLTrackerStore(DOMAIN, host=tracker_database)
        try:
            return await store.retrieve("p1"), await rasa.retrieve("p1")
        finally:
            rasa.engine.dispose()

    ours, read_by_rasa = asyncio.run(scenario())
    assert keys_of(read_by_rasa.events) == keys_of(ours.events)
    assert said_by_patient(read_by_rasa) == ["how many relapsed?"]
    assert read_by_rasa.get_slot("treatment") == "alemtuzumab"


def test_a_deleted_conversation_is_gone_in_every_session_and_no_other_is_touched(
    store: SharedTrackerStore, tracker_database: str
) -> None:
    async def scenario() -> tuple[bool, Any]:
        tracker = await turn(store, "p1", "how many relapsed?")
        start_session(tracker)
        take_turn(tracker, "and infections?")
        await store.save(tracker)
        await turn(store, "p2", "how many relapsed?")
        return await store.delete("p1"), await store.retrieve("p1")

    assert asyncio.run(scenario()) == (True, None)
    assert stored_rows(tracker_database, "p1") == []
    assert [name for name, _ in stored_rows(tracker_database, "p2")].count("user") == 1


def test_deleting_while_the_database_is_down_fails_loudly(
    store: SharedTrackerStore, tracker_database: str, postgres_url: str
) -> None:
    """The patient must not be told their conversation is deleted when it is not."""

    async def scenario() -> None:
        await turn(store, "p1", "how many relapsed?")
        with database_down(postgres_url, tracker_database):
            await store.delete("p1")

    with pytest.raises(StoreUnavailable):
        asyncio.run(scenario())
    assert [name for name, _ in stored_rows(tracker_database, "p1")].count("user") == 1


def write_conversation(
    store: TrackerStore, sender: str, days_ago: float, said: str = "how many relapsed?"
) -> None:
    """A conversation whose last message was `days_ago` days ago."""
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    at = time.time() - days_ago * DAY
    start_session(tracker, at=at - 60)
    take_turn(tracker, said, at=at)
    asyncio.run(store.save(tracker))


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_a_sweep_deletes_every_conversation_idle_for_longer_than_asked_and_keeps_the_rest(
    database: str, tracker_database: str, tmp_path
) -> None:
    url = tracker_database if database == "postgresql" else f"sqlite:///{tmp_path / 'trackers.db'}"
    store = shared_store(url)
    try:
        for sender, days_ago in (("idle-40", 40), ("idle-31", 31), ("active-29", 29), ("active-now", 0)):
            write_conversation(store, sender, days_ago)
        assert asyncio.run(store.idle_conversations(30 * DAY)) == 2
        assert asyncio.run(store.sweep(30 * DAY)) == 2
        assert sorted(asyncio.run(store.keys())) == ["active-29", "active-now"]
        assert asyncio.run(store.sweep(30 * DAY)) == 0
    finally:
        store.close()


class FreezableRelay:
    """A TCP relay to PostgreSQL that can stop relaying, as a hung server or network does."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.flowing = threading.Event()
        self.flowing.set()
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self.flowing.wait()
                sink.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self.flowing.set()
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked reading it; close() alone does not
            except OSError:
                pass
            sock.close()


def test_a_database_that_hangs_holds_no_one_up(tracker_database: str) -> None:
    """Rasa's SQL calls block: run on the event loop, a hung database would stop every reply."""
    parsed = make_url(tracker_database)
    relay = FreezableRelay(parsed.host or "127.0.0.1", parsed.port or 5432)
    store = shared_store(parsed.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False))

    async def scenario() -> tuple[float, int, list[str], float]:
        await turn(store, "p1", "how many relapsed on alemtuzumab?")
        relay.flowing.clear()
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        started = time.monotonic()
        tracker = await store.retrieve("p1")
        waited = time.monotonic() - started
        started = time.monotonic()
        take_turn(tracker, "and on interferon?")
        await store.save(tracker)  # the database is known to be down: kept, at once
        then = time.monotonic() - started
        ticking.cancel()
        return waited, ticks, said_by_patient(tracker), then

    try:
        waited, ticks, context, then = asyncio.run(scenario())
    finally:
        relay.close()
        store.close()
    assert waited < tracker_store_module.DATABASE_SECONDS + 1
    assert ticks >= 0.8 * waited / 0.05  # the event loop went on meanwhile
    assert context == ["how many relapsed on alemtuzumab?", "and on interferon?"]
    assert then < 0.5


def test_nothing_a_patient_typed_is_ever_logged(
    store: SharedTrackerStore,
    tracker_database: str,
    postgres_url: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(tracker_store_module, "MAX_UNSAVED_CONVERSATIONS", 1)

    async def scenario() -> None:
        await turn(store, "p1", CANARY)
        with database_down(postgres_url, tracker_database):
            await turn(store, "p1", CANARY)
            await turn(store, "p2", CANARY)  # p1 is dropped
            await turn(store, "p3", CANARY)
        await store.flush()
        memory = MemoryTrackerStore(DOMAIN)
        await turn(memory, "p1", CANARY)
        with database_down(postgres_url, tracker_database):
            await turn(store, "p4", CANARY)
            store.close()

    asyncio.run(scenario())
    assert len(caplog.records) >= 4
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}" for record in caplog.records
    )
    assert CANARY not in logged and "canary" not in logged


def test_the_health_says_whether_the_database_answers_since_when_and_what_is_unsaved(
    store: SharedTrackerStore, tracker_database: str, postgres_url: str
) -> None:
    async def scenario() -> dict[str, Any]:
        with database_down(postgres_url, tracker_database):
            await turn(store, "p1", "how many relapsed?")
            return store.health()

    health = asyncio.run(scenario())
    assert health["store"] == "database" and health["reachable"] is False
    assert health["unsaved_conversations"] == 1
    assert health["down_since"] is not None and health["down_since"].endswith("+00:00")


def test_rasa_s_own_in_memory_store_is_what_the_memory_store_replaces() -> None:
    """Guard: the memory store is Rasa's, so Rasa's wrappers and `keys()` treat it as theirs."""
    assert issubclass(MemoryTrackerStore, InMemoryTrackerStore)
    assert issubclass(SharedTrackerStore, SQLTrackerStore)
