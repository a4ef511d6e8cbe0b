"""The production profile, for real: two Rasa servers sharing a PostgreSQL tracker store and a
Redis lock store, one action server answering from a PostgreSQL knowledge store.

- A conversation survives a Rasa server restart.
- One conversation's messages, sent to both servers alternately and all at once, are each
  answered once, correctly, and kept in order.
- When the knowledge database goes away mid-conversation the patient is told "I can't look that
  up right now", the assistant does not crash, and it answers normally once the database is back.
- When the conversation database goes away mid-conversation, a follow-up still knows what was
  asked before, an emergency gets the urgent reply, the outage is logged once each way, and once
  the database is back every message of the outage is in its record, once.
- When Redis (the conversation locks) goes away, new and existing conversations are answered and
  an emergency gets the urgent reply.

PostgreSQL and Redis must be running (see tests/services.py): without them these tests fail.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from actions.answers import STORE_UNAVAILABLE, compose_answer
from actions.loader import DEFAULT_KNOWLEDGE_DIR, load_knowledge
from actions.store import KnowledgeStore
from connectors.tracker_store import PROBE_SECONDS
from tests.helpers import rendered, texts
from tests.live_bot import LiveBot, ServerProcess, action_server, all_running, rasa_server
from tests.services import scratch_database, set_connections_allowed
from tests.test_lock_store import RedisServer

OPENING = "Hello. I'm an automated assistant"
_conversations = itertools.count()

# Each names its medicine, so that its answer does not depend on which question came before.
QUESTIONS: list[tuple[str, str, str]] = [
    ("how many people relapsed on alemtuzumab?", "relapse", "alemtuzumab"),
    ("how many people relapsed on interferon?", "relapse", "interferon beta-1a"),
    ("how many were relapse free at 2 years on alemtuzumab?", "relapse_free", "alemtuzumab"),
    ("what was the relapse rate on rebif?", "relapse_rate", "interferon beta-1a"),
    ("did disability get worse on lemtrada?", "disability", "alemtuzumab"),
    ("how many had infusion reactions on alemtuzumab?", "infusion_reactions", "alemtuzumab"),
    ("how many got infections on interferon?", "infections", "interferon beta-1a"),
    ("how common was autoimmunity with alemtuzumab?", "autoimmunity", "alemtuzumab"),
]


@dataclass
class ProductionStack:
    """The servers, and where they keep conversations and knowledge."""

    servers: list[ServerProcess]
    bots: list[LiveBot]
    actions: ServerProcess
    action_url: str
    tracker_url: str
    knowledge_url: str
    postgres_url: str

    def restart(self, index: int) -> None:
        self.servers[index].stop()
        self.servers[index].start().wait()

    def expected(self, topic: str, treatment: str, first: bool = False) -> list[str]:
        """What the assistant must say: composed from the same knowledge store, in-process.

        The `first` answer of a conversation names no trial, so it ends by offering the other
        trial; later ones are about the trial remembered from it, the default.
        """
        with KnowledgeStore.open(self.knowledge_url) as store:
            trials = [] if first else [store.trial()]
            answer = compose_answer(store, topic, store.find_treatment(treatment), trials=trials)
        assert answer, f"the store has no answer on {topic} for {treatment}"
        return answer

    def events(self, sender: str) -> list[dict]:
        """The conversation as the tracker store keeps it, in stored order."""
        engine = create_engine(self.tracker_url, future=True)
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT data FROM events WHERE sender_id = :sender ORDER BY id"), {"sender": sender}
                ).scalars()
                return [json.loads(row) for row in rows]
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def stack(
    postgres_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProductionStack]:
    workdir = tmp_path_factory.mktemp("production")
    with (
        scratch_database(postgres_url, "trackers") as tracker_url,
        scratch_database(postgres_url, "live_knowledge") as knowledge_url,
    ):
        load_knowledge(DEFAULT_KNOWLEDGE_DIR, knowledge_url)
        stores = {
            "TRACKER_STORE_URL": tracker_url,
            "LOCK_STORE_URL": redis_url,
            # Several test runs may share one Redis: each keeps its locks apart.
            "LOCK_STORE_KEY_PREFIX": f"test{uuid.uuid4().hex[:8]}",
        }
        actions, action_url = action_server(knowledge_url, workdir)
        pairs = [rasa_server(workdir, action_url, name=f"rasa-{n}", stores=stores) for n in "ab"]
        servers = [server for server, _ in pairs]
        with all_running(actions, *servers):
            yield ProductionStack(
                servers,
                [bot for _, bot in pairs],
                actions,
                action_url,
                tracker_url,
                knowledge_url,
                postgres_url,
            )


def new_conversation() -> str:
    return f"patient-{uuid.uuid4().hex[:8]}-{next(_conversations)}"


def without_notice(replies: list[dict]) -> list[str]:
    said = texts(replies)
    return said[1:] if said and said[0].startswith(OPENING) else said


def user_turns(events: list[dict]) -> list[tuple[str, list[str]]]:
    """Each message the patient sent, with the texts the bot sent before the next one."""
    turns: list[tuple[str, list[str]]] = []
    for event in events:
        if event["event"] == "user":
            turns.append((event["text"], []))
        elif event["event"] == "bot" and turns and event.get("text"):
            turns[-1][1].append(event["text"])
    return turns


def test_a_conversation_carries_on_after_the_rasa_server_restarts(stack: ProductionStack) -> None:
    sender = new_conversation()
    first = texts(stack.bots[0].say(sender, "how many people relapsed on alemtuzumab?"))
    assert first[0].startswith(OPENING)

    stack.restart(0)

    # A follow-up that makes sense only with the conversation so far, to the restarted server.
    carried_on = texts(stack.bots[0].say(sender, "and on interferon?"))
    assert carried_on == stack.expected("relapse", "interferon beta-1a")
    events = stack.events(sender)
    assert [event["event"] for event in events].count("session_started") == 1
    assert [turn for turn, _ in user_turns(events)] == [
        "how many people relapsed on alemtuzumab?",
        "and on interferon?",
    ]


def test_two_servers_take_turns_on_one_conversation(stack: ProductionStack) -> None:
    """Each follow-up goes to the other server, which must know what the last question was."""
    sender = new_conversation()
    a, b = stack.bots
    turns = [
        (a, "how many people relapsed on alemtuzumab?", ("relapse", "alemtuzumab")),
        (b, "and on interferon?", ("relapse", "interferon beta-1a")),
        (a, "how many got infections on interferon?", ("infections", "interferon beta-1a")),
        (b, "and on alemtuzumab?", ("infections", "alemtuzumab")),
    ]
    for index, (bot, question, (topic, treatment)) in enumerate(turns):
        said = without_notice(bot.say(sender, question))
        assert said == stack.expected(topic, treatment, first=index == 0), question
    assert [question for question, _ in user_turns(stack.events(sender))] == [q for _, q, _ in turns]


def test_messages_sent_to_both_servers_at_once_are_each_answered_once_and_kept_in_order(
    stack: ProductionStack,
) -> None:
    sender = new_conversation()
    replies: dict[str, list[dict]] = {}
    failures: list[BaseException] = []
    everyone_ready = threading.Barrier(len(QUESTIONS))

    def ask(index: int, question: str) -> None:
        try:
            everyone_ready.wait(timeout=30)
            replies[question] = stack.bots[index % 2].say(sender, question)
        except BaseException as error:  # noqa: BLE001 (reported below, with the question)
            failures.append(error)

    threads = [threading.Thread(target=ask, args=pair) for pair in enumerate(q for q, _, _ in QUESTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not failures, failures

    # Every patient got exactly the right answer: none lost, none mixed up with another question.
    # Only the one handled first (first in the record) names no trial and is offered the other.
    events = stack.events(sender)
    turns = user_turns(events)
    handled_first = turns[0][0]
    for question, topic, treatment in QUESTIONS:
        expected = stack.expected(topic, treatment, first=question == handled_first)
        assert without_notice(replies[question]) == expected, question

    # The tracker store holds each message once, each followed by its own answer before the next.
    assert sorted(question for question, _ in turns) == sorted(q for q, _, _ in QUESTIONS)
    for question, bot_said in turns:
        assert bot_said == without_notice(replies[question]), question
    assert [event["event"] for event in events].count("session_started") == 1
    assert [event["timestamp"] for event in events] == sorted(event["timestamp"] for event in events)


def test_the_knowledge_database_going_away_mid_conversation(stack: ProductionStack) -> None:
    sender = new_conversation()
    bot = stack.bots[0]
    assert without_notice(bot.say(sender, "how many people relapsed on alemtuzumab?")) == stack.expected(
        "relapse", "alemtuzumab", first=True
    )
    database = make_url(stack.knowledge_url).database
    set_connections_allowed(stack.postgres_url, database, allowed=False)
    try:
        assert texts(bot.say(sender, "and on interferon?")) == [rendered(STORE_UNAVAILABLE)]
        assert texts(stack.bots[1].say(sender, "what does relapse mean?")) == [rendered(STORE_UNAVAILABLE)]
        # Emergencies never need the database.
        urgent = texts(bot.say(sender, "I suddenly can't breathe"))
        assert len(urgent) == 1 and "emergency" in urgent[0] and "call" in urgent[0], urgent
        # Someone arriving now still hears who they are talking to.
        newcomer = texts(stack.bots[1].say(new_conversation(), "hello"))
        assert newcomer and newcomer[0].startswith(OPENING)
    finally:
        set_connections_allowed(stack.postgres_url, database, allowed=True)

    assert stack.actions.process is not None and stack.actions.process.poll() is None
    assert texts(bot.say(sender, "and on interferon?")) == stack.expected("relapse", "interferon beta-1a")


def test_the_stack_really_shares_its_stores(stack: ProductionStack) -> None:
    """Guard against a passing run that quietly used in-memory stores."""
    for server in stack.servers:
        written = Path(server.command[server.command.index("--endpoints") + 1]).read_text()
        assert "type: connectors.tracker_store.SharedTrackerStore" in written
        assert "type: connectors.lock_store.SharedRedisLockStore" in written


def is_urgent_reply(said: list[str]) -> bool:
    return len(said) == 1 and "emergency" in said[0] and "call" in said[0]


def logged_since(server: ServerProcess, start: int) -> str:
    return server.log.read_text()[start:]


def test_the_conversation_database_going_away_mid_conversation(stack: ProductionStack) -> None:
    """Rasa's own SQL store, behind its fail-safe wrapper, carries on with an empty conversation:
    the follow-up is answered as a new question and the outage's messages are never stored."""
    sender = new_conversation()
    bot, server = stack.bots[0], stack.servers[0]
    first = "how many people relapsed on alemtuzumab?"
    assert without_notice(bot.say(sender, first)) == stack.expected("relapse", "alemtuzumab", first=True)
    log_start = len(server.log.read_text())

    database = make_url(stack.tracker_url).database
    set_connections_allowed(stack.postgres_url, database, allowed=False)
    try:
        follow_up = texts(bot.say(sender, "and on interferon?"))
        assert follow_up == stack.expected("relapse", "interferon beta-1a")
        assert is_urgent_reply(texts(bot.say(sender, "I suddenly can't breathe")))
        newcomer = texts(stack.bots[1].say(new_conversation(), "hello"))
        assert newcomer and newcomer[0].startswith(OPENING)
    finally:
        set_connections_allowed(stack.postgres_url, database, allowed=True)

    # Written back by the next message the server handles, or by its own flush soon after.
    time.sleep(PROBE_SECONDS + 0.5)
    bot.say(new_conversation(), "hello")
    deadline = time.monotonic() + 60
    while len(user_turns(stack.events(sender))) < 3 and time.monotonic() < deadline:
        time.sleep(1)
    turns = user_turns(stack.events(sender))
    assert [said for said, _ in turns] == [first, "and on interferon?", "I suddenly can't breathe"]
    assert turns[1][1] == follow_up

    logged = logged_since(server, log_start)
    assert logged.count("The conversation database cannot be reached") == 1, logged[-3000:]
    assert "The conversation database is back" in logged and "conversations written back" in logged
    assert "and on interferon?" not in logged and "can't breathe" not in logged


def test_with_redis_down_every_patient_is_still_answered(stack: ProductionStack, tmp_path: Path) -> None:
    """A Rasa server of its own, locking conversations in a Redis that this test stops: Rasa's own
    lock store would fail every message, the emergency included, with no reply."""
    redis_server = RedisServer(tmp_path).start()
    stores = {
        "TRACKER_STORE_URL": stack.tracker_url,
        "LOCK_STORE_URL": redis_server.url,
        "LOCK_STORE_KEY_PREFIX": f"test{uuid.uuid4().hex[:8]}",
    }
    server, bot = rasa_server(tmp_path, stack.action_url, name="rasa-own-redis", stores=stores)
    try:
        server.start().wait()
        existing = new_conversation()
        first = "how many people relapsed on alemtuzumab?"
        assert without_notice(bot.say(existing, first)) == stack.expected(
            "relapse", "alemtuzumab", first=True
        )

        redis_server.stop()
        assert texts(bot.say(existing, "and on interferon?")) == stack.expected(
            "relapse", "interferon beta-1a"
        )
        newcomer = texts(bot.say(new_conversation(), "hello"))
        assert newcomer and newcomer[0].startswith(OPENING)
        assert is_urgent_reply(texts(bot.say(existing, "I suddenly can't breathe")))

        redis_server.start()
        time.sleep(PROBE_SECONDS + 0.5)
        assert texts(bot.say(existing, "how many got infections on interferon?")) == stack.expected(
            "infections", "interferon beta-1a"
        )
        logged = server.log.read_text()
        assert logged.count("Redis (the conversation locks) cannot be reached") == 1, logged[-3000:]
        assert "Redis (the conversation locks) is back" in logged
    finally:
        server.stop()
        redis_server.stop()
