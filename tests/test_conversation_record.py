"""The conversation record's life (connectors/conversations.py): how long it is kept, how a patient
or an operator deletes it, and what the stores' health says.

- Idle conversations are kept `CONVERSATION_RETENTION_DAYS` (30 unless set; a setting that cannot
  work stops the server at start) and swept away by the server's background task, which also
  writes back conversations the database missed.
- A patient's request deletes every stored event of their conversation, whichever store keeps
  it, once no message of it is being handled; it fails loudly if the database is down.
- Operators delete one conversation, or every one idle for more than N days, from the command
  line (with a dry run), against the real PostgreSQL; it prints counts, never what was said.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
from rasa.core.agent import Agent
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import AwaitableTrackerStore, FailSafeTrackerStore, InMemoryTrackerStore

import connectors.conversations as conversations
from connectors.conversations import (
    SettingError,
    delete_conversation,
    keep_tidy,
    retention_days,
    store_health,
)
from connectors.tracker_store import MemoryTrackerStore, SharedTrackerStore, StoreUnavailable
from feedback import store as feedback_store
from feedback.store import (
    AnswerRecord,
    RowReference,
    conversation_hash,
    new_answer_id,
    record_answer,
    record_feedback,
)
from tests.helpers import PROJECT_ROOT
from tests.services import scratch_database
from tests.test_tracker_store import (
    CANARY,
    DAY,
    DOMAIN,
    database_down,
    said_by_patient,
    shared_store,
    stored_rows,
    turn,
    write_conversation,
)

# -- how long conversations are kept ----------------------------------------------------------


def test_conversations_are_kept_30_days_unless_the_deployment_says_otherwise() -> None:
    assert retention_days({}) == 30
    assert retention_days({"CONVERSATION_RETENTION_DAYS": " 7 "}) == 7


@pytest.mark.parametrize("value", ["0", "-3", "thirty", "1.5", "7 days"])
def test_a_retention_that_cannot_work_is_refused_naming_the_setting(value: str) -> None:
    with pytest.raises(
        SettingError, match=f"CONVERSATION_RETENTION_DAYS must be a positive whole number, not '{value}'"
    ):
        retention_days({"CONVERSATION_RETENTION_DAYS": value})


def test_a_server_with_a_retention_that_cannot_work_does_not_start() -> None:
    started = subprocess.run(
        [sys.executable, "-c", "import connectors.conversations"],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin", "CONVERSATION_RETENTION_DAYS": "forever", "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode != 0
    assert "CONVERSATION_RETENTION_DAYS must be a positive whole number, not 'forever'" in started.stderr


# -- a patient's request to delete --------------------------------------------------------------


def agent_with(tracker_store: Any) -> Agent:
    """Rasa's agent, which wraps the store in its FailSafeTrackerStore, without a model."""
    agent = Agent(tracker_store=tracker_store, lock_store=InMemoryLockStore())
    agent.tracker_store.domain = DOMAIN
    return agent


@pytest.mark.parametrize(
    "make_store",
    [
        lambda: MemoryTrackerStore(DOMAIN),
        lambda: InMemoryTrackerStore(DOMAIN),  # Rasa's own, under plain `rasa run`
        lambda: AwaitableTrackerStore(MemoryTrackerStore(DOMAIN)),
    ],
    ids=["memory store", "rasa's in-memory store", "behind rasa's awaitable wrapper"],
)
def test_a_patient_s_conversation_is_deleted_on_request_and_no_one_else_s(make_store: Any) -> None:
    agent = agent_with(make_store())

    async def scenario() -> tuple[Any, Any]:
        await turn(agent.tracker_store, "patient-1", "how many relapsed?")
        await turn(agent.tracker_store, "patient-2", "how many relapsed?")
        await delete_conversation(agent, "patient-1")
        return await agent.tracker_store.retrieve("patient-1"), await agent.tracker_store.retrieve(
            "patient-2"
        )

    deleted, kept = asyncio.run(scenario())
    assert deleted is None
    assert said_by_patient(kept) == ["how many relapsed?"]


def test_a_conversation_is_deleted_only_once_its_message_being_handled_is_done() -> None:
    """Otherwise the turn in progress would save the conversation back as it goes."""
    agent = agent_with(MemoryTrackerStore(DOMAIN))
    order: list[str] = []

    async def handling() -> None:
        async with agent.lock_store.lock("patient-1"):
            await asyncio.sleep(0.2)
            await turn(agent.tracker_store, "patient-1", "and on interferon?")
            order.append("turn saved")

    async def scenario() -> Any:
        await turn(agent.tracker_store, "patient-1", "how many relapsed?")
        turn_in_progress = asyncio.create_task(handling())
        await asyncio.sleep(0.05)
        await delete_conversation(agent, "patient-1")
        order.append("deleted")
        await turn_in_progress
        return await agent.tracker_store.retrieve("patient-1")

    assert asyncio.run(scenario()) is None
    assert order == ["turn saved", "deleted"]


@pytest.fixture
def tracker_database(postgres_url: str) -> Iterator[str]:
    with scratch_database(postgres_url, "conversation_record") as url:
        yield url


@pytest.fixture
def database_store(tracker_database: str) -> Iterator[SharedTrackerStore]:
    store = shared_store(tracker_database)
    yield store
    store.close()


def test_a_patient_s_conversation_is_deleted_from_the_database_every_session(
    database_store: SharedTrackerStore, tracker_database: str
) -> None:
    agent = agent_with(database_store)

    async def scenario() -> None:
        await turn(agent.tracker_store, "patient-1", "how many relapsed?")
        await turn(agent.tracker_store, "patient-2", "how many relapsed?")
        await delete_conversation(agent, "patient-1")

    asyncio.run(scenario())
    assert stored_rows(tracker_database, "patient-1") == []
    assert stored_rows(tracker_database, "patient-2") != []


def test_with_the_database_down_deleting_fails_so_the_patient_is_not_told_it_is_gone(
    database_store: SharedTrackerStore, tracker_database: str, postgres_url: str
) -> None:
    agent = agent_with(database_store)

    async def scenario() -> None:
        await turn(agent.tracker_store, "patient-1", "how many relapsed?")
        with database_down(postgres_url, tracker_database):
            await delete_conversation(agent, "patient-1")

    with pytest.raises(StoreUnavailable):
        asyncio.run(scenario())


# -- the server's background task -----------------------------------------------------------------


def server_app(tracker_store: Any) -> SimpleNamespace:
    """What `keep_tidy` is given: the Sanic app, whose context holds Rasa's agent."""
    return SimpleNamespace(ctx=SimpleNamespace(agent=agent_with(tracker_store)))


async def run_for(seconds: float, app: SimpleNamespace) -> None:
    task = asyncio.create_task(keep_tidy(app))
    await asyncio.sleep(seconds)
    assert not task.done(), "the task stopped"
    task.cancel()


def test_the_server_sweeps_away_conversations_idle_past_the_retention_period(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="connectors.conversations")
    monkeypatch.setattr(conversations, "RETENTION_DAYS", 30)
    monkeypatch.setattr(conversations, "SWEEP_SECONDS", 1)
    now = [1_000_000.0]
    store = MemoryTrackerStore(DOMAIN, clock=lambda: now[0])
    app = server_app(store)

    async def scenario() -> list[str]:
        await turn(store, "idle", CANARY)
        now[0] += 31 * DAY
        await turn(store, "active", CANARY)
        await run_for(0.2, app)
        return sorted(await store.keys())

    assert asyncio.run(scenario()) == ["active"]
    logged = [record.getMessage() for record in caplog.records]
    assert logged == [
        "Retention sweep: 1 conversations idle for more than 30 days deleted",
        "Retention sweep: 0 answers and their feedback older than 30 days deleted",
    ]


def test_the_server_writes_back_what_the_database_missed_without_waiting_for_another_message(
    database_store: SharedTrackerStore,
    tracker_database: str,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(conversations, "FLUSH_SECONDS", 0.1)
    app = server_app(database_store)

    async def scenario() -> dict[str, Any]:
        await turn(database_store, "patient-1", "how many relapsed?")
        with database_down(postgres_url, tracker_database):
            await turn(database_store, "patient-1", "and on interferon?")
        await run_for(1.0, app)
        return store_health(app.ctx.agent)["tracker_store"]

    health = asyncio.run(scenario())
    assert [name for name, _ in stored_rows(tracker_database, "patient-1")].count("user") == 2
    assert health == {"store": "database", "reachable": True, "down_since": None, "unsaved_conversations": 0}


def test_the_health_of_the_default_stores_is_memory_always_reachable() -> None:
    agent = Agent(tracker_store=MemoryTrackerStore(DOMAIN))
    assert store_health(agent) == {
        "tracker_store": {
            "store": "memory",
            "reachable": True,
            "down_since": None,
            "unsaved_conversations": 0,
        },
        "lock_store": {"store": "memory", "reachable": True, "down_since": None},
    }


# -- the operators' command -------------------------------------------------------------------------


@pytest.fixture
def seeded(tracker_database: str) -> str:
    """Conversations last active 40, 31, 29 and 0 days ago, each with a message no output may show."""
    store = shared_store(tracker_database)
    try:
        for sender, days_ago in (("idle-40", 40), ("idle-31", 31), ("active-29", 29), ("active-now", 0)):
            write_conversation(store, sender, days_ago, said=CANARY)
    finally:
        store.close()
    return tracker_database


def senders(url: str) -> list[str]:
    store = shared_store(url)
    try:
        return sorted(asyncio.run(store.keys()))
    finally:
        store.close()


def command(
    arguments: str, url: str | None, capsys: pytest.CaptureFixture, **settings: str
) -> tuple[int, str]:
    """The operators' command, against this run's feedback store (it deletes there too)."""
    environment = {"TRACKER_STORE_URL": url} if url else {}
    environment.update({"FEEDBACK_STORE_URL": os.environ["FEEDBACK_STORE_URL"], **settings})
    code = conversations.main(arguments.split(), environment)
    captured = capsys.readouterr()
    assert CANARY not in captured.out + captured.err
    return code, (captured.out + captured.err).strip()


def test_an_operator_sees_how_many_would_go_before_deleting_everything_idle_for_30_days(
    seeded: str, capsys: pytest.CaptureFixture
) -> None:
    code, said = command("delete --older-than 30 --dry-run", seeded, capsys)
    assert (code, said.splitlines()[0]) == (
        0,
        "2 conversations have been idle for more than 30 days (dry run: nothing deleted).",
    )
    assert senders(seeded) == ["active-29", "active-now", "idle-31", "idle-40"]
    code, said = command("delete --older-than 30", seeded, capsys)
    assert (code, said.splitlines()[0]) == (0, "Deleted 2 conversations idle for more than 30 days.")
    assert senders(seeded) == ["active-29", "active-now"]


def test_an_operator_deletes_one_conversation_and_no_other(
    seeded: str, capsys: pytest.CaptureFixture
) -> None:
    code, said = command("delete --conversation active-29 --dry-run", seeded, capsys)
    assert code == 0 and said.startswith("Conversation active-29 has ") and "dry run: nothing deleted" in said
    assert "active-29" in senders(seeded)
    code, said = command("delete --conversation active-29", seeded, capsys)
    assert code == 0 and said.startswith("Deleted conversation active-29 (")
    assert senders(seeded) == ["active-now", "idle-31", "idle-40"]
    code, said = command("delete --conversation active-29", seeded, capsys)
    assert (code, said.splitlines()[0]) == (0, "No conversation active-29 is stored.")


def test_the_command_line_deletes_against_the_servers_database(seeded: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "connectors.conversations", "delete", "--conversation", "idle-40"],
        cwd=PROJECT_ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "TRACKER_STORE_URL": seeded,
            "FEEDBACK_STORE_URL": os.environ["FEEDBACK_STORE_URL"],
            "TF_CPP_MIN_LOG_LEVEL": "3",
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().startswith("Deleted conversation idle-40 (")
    assert CANARY not in run.stdout + run.stderr
    assert "idle-40" not in senders(seeded)


def test_with_conversations_in_memory_the_command_says_there_is_nothing_on_disk(
    capsys: pytest.CaptureFixture,
) -> None:
    code, said = command("delete --older-than 30", None, capsys)
    assert code == 0
    assert (
        "kept only in the running Rasa server's memory: there are no conversations on disk to delete" in said
    )


def test_with_the_database_unreachable_the_command_says_nothing_was_deleted_at_once(
    capsys: pytest.CaptureFixture,
) -> None:
    started = time.monotonic()
    code, said = command("delete --older-than 30", "postgresql://postgres@127.0.0.1:1/rasa", capsys)
    assert code == 1 and said.startswith("Nothing was deleted: The conversation database cannot be reached")
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("days", ["0", "-1", "a week"])
def test_the_command_refuses_an_age_that_is_not_a_positive_number_of_days(
    days: str, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as refused:
        conversations.main(["delete", "--older-than", days], {})
    assert refused.value.code == 2
    assert "--older-than must be a positive whole number" in capsys.readouterr().err


def test_the_stores_never_confuse_a_patient_s_deletion_with_rasa_s_fallback() -> None:
    """Whatever Rasa's wrapper kept in memory after a failed save goes too."""
    store = MemoryTrackerStore(DOMAIN)
    wrapped = FailSafeTrackerStore(store, fallback_tracker_store=InMemoryTrackerStore(DOMAIN))
    agent = SimpleNamespace(tracker_store=wrapped, lock_store=InMemoryLockStore())

    async def scenario() -> tuple[Any, Any]:
        await turn(store, "patient-1", "how many relapsed?")
        await turn(wrapped.fallback_tracker_store, "patient-1", "how many relapsed?")
        await delete_conversation(agent, "patient-1")
        return await store.retrieve("patient-1"), await wrapped.fallback_tracker_store.retrieve("patient-1")

    assert asyncio.run(scenario()) == (None, None)


# -- answers and their feedback (feedback/store.py): the same rules -----------------------------

TOKEN = "the-deployment-s-token"


@pytest.fixture
def feedback_url(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A feedback store of this test's own, and the token both servers key the hashes with."""
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    monkeypatch.setenv("FEEDBACK_STORE_URL", url)
    monkeypatch.setenv("ACTION_SERVER_TOKEN", TOKEN)
    return url


def given_answer(url: str, conversation: str, days_ago: int = 0) -> str:
    """An answer the action server recorded for the conversation, with a "No" and a reason."""
    when = datetime.now(timezone.utc) - timedelta(days=days_ago)
    record = AnswerRecord(
        new_answer_id(), "relapse", "care-ms-ii", [RowReference("results", 1, "care-ms-ii/relapse/a")],
        conversation_hash(conversation, TOKEN), "socketio", None, when,
    )  # fmt: skip
    record_answer(url, record)
    record_feedback(url, record.answer_id, False, "too_long", now=when)
    return record.answer_id


def kept_answers(url: str) -> dict[str, list[str]]:
    """The answer ids of each table of the feedback store."""
    from sqlalchemy import select

    with feedback_store.engine_for(url).connect() as connection:
        return {
            name: sorted(row.answer_id for row in connection.execute(select(table)))
            for name, table in feedback_store.metadata.tables.items()
        }


def test_deleting_a_conversation_deletes_its_answers_and_their_feedback_and_no_one_else_s(
    feedback_url: str,
) -> None:
    agent = agent_with(MemoryTrackerStore(DOMAIN))
    given_answer(feedback_url, "patient-1")
    theirs = given_answer(feedback_url, "patient-2")

    async def scenario() -> Any:
        await turn(agent.tracker_store, "patient-1", "how many relapsed?")
        await delete_conversation(agent, "patient-1")
        return await agent.tracker_store.retrieve("patient-1")

    assert asyncio.run(scenario()) is None
    assert kept_answers(feedback_url) == {
        "answers_given": [theirs], "answer_knowledge_rows": [theirs], "answer_feedback": [theirs],
    }  # fmt: skip


def test_the_rasa_server_takes_the_token_from_its_action_endpoint_where_its_environment_has_none(
    feedback_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As `make serve` and the tests start it: the token is in its endpoints file only."""
    from rasa.utils.endpoints import EndpointConfig

    monkeypatch.delenv("ACTION_SERVER_TOKEN")
    agent = agent_with(MemoryTrackerStore(DOMAIN))
    agent.action_endpoint = EndpointConfig(
        "http://actions/webhook", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    given_answer(feedback_url, "patient-1")
    asyncio.run(delete_conversation(agent, "patient-1"))
    assert kept_answers(feedback_url)["answers_given"] == []


def test_with_the_feedback_store_down_deleting_fails_and_the_conversation_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The patient is told it could not be done, and asking again deletes both."""
    monkeypatch.setenv("FEEDBACK_STORE_URL", "postgresql://nobody@127.0.0.1:1/feedback")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", TOKEN)
    monkeypatch.setattr(feedback_store, "WRITER", feedback_store.Writer())
    agent = agent_with(MemoryTrackerStore(DOMAIN))

    async def scenario() -> Any:
        await turn(agent.tracker_store, "patient-1", "how many relapsed?")
        with pytest.raises(Exception) as failed:
            await delete_conversation(agent, "patient-1")
        assert feedback_store.is_outage(failed.value)
        return await agent.tracker_store.retrieve("patient-1")

    assert asyncio.run(scenario()) is not None


def test_the_server_sweeps_away_answers_and_feedback_older_than_the_retention_period(
    feedback_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conversations, "RETENTION_DAYS", 30)
    given_answer(feedback_url, "patient-1", days_ago=31)
    recent = given_answer(feedback_url, "patient-1", days_ago=29)
    asyncio.run(run_for(0.5, server_app(MemoryTrackerStore(DOMAIN))))
    assert kept_answers(feedback_url)["answers_given"] == [recent]
    assert kept_answers(feedback_url)["answer_feedback"] == [recent]


def test_an_operator_deletes_answers_and_feedback_with_conversations_even_kept_in_memory(
    feedback_url: str, capsys: pytest.CaptureFixture
) -> None:
    mine = given_answer(feedback_url, "patient-1", days_ago=3)
    old = given_answer(feedback_url, "patient-2", days_ago=40)
    settings = {"FEEDBACK_STORE_URL": feedback_url, "ACTION_SERVER_TOKEN": TOKEN}
    code, said = command("delete --conversation patient-1 --dry-run", None, capsys, **settings)
    assert code == 0 and said.splitlines()[-1] == (
        "Answers and feedback: 1 answers of it are kept (dry run: nothing deleted)."
    )
    code, said = command("delete --conversation patient-1", None, capsys, **settings)
    assert said.splitlines()[-1] == "Answers and feedback: deleted 1 answers of it."
    assert mine not in kept_answers(feedback_url)["answers_given"]
    code, said = command("delete --older-than 30", None, capsys, **settings)
    assert said.splitlines()[-1] == "Answers and feedback: deleted 1 answers older than 30 days."
    assert kept_answers(feedback_url) == {
        "answers_given": [],
        "answer_knowledge_rows": [],
        "answer_feedback": [],
    }
    assert "patient-" not in said and old not in said
