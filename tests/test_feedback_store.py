"""The feedback store (feedback/store.py), on SQLite and on the real PostgreSQL: one row per
answer's feedback, tied to the answer's topic, trial and knowledge rows; no conversation id in
the clear; the retention and deletion rules; the report's read; and a writer that never makes
anyone wait for a store that is down."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator

import pytest
from sqlalchemy import create_engine, inspect, select, text

from feedback import store
from feedback.store import (
    AnswerRecord,
    FeedbackRow,
    RowReference,
    StoreDown,
    Writer,
    conversation_hash,
    feedback_by_topic,
    forget_conversation,
    new_answer_id,
    record_answer,
    record_feedback,
    sweep,
)

TOKEN = "test-token"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
ROWS = (
    RowReference("results", 3, "care_ms_ii/relapse/alemtuzumab"),
    RowReference("comparisons", 1, "care_ms_ii/relapse/alemtuzumab-vs-interferon"),
)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty feedback store: a SQLite file, and a new database on the real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'feedback.db'}"
        return
    from tests.services import require_postgres, scratch_database

    with scratch_database(require_postgres(), "feedback") as scratch:
        yield scratch
        store._engine(scratch).dispose()  # let the scratch database be dropped


def answer(
    conversation: str = "patient-1", topic: str = "relapse", when: datetime = NOW, **kw
) -> AnswerRecord:
    return AnswerRecord(
        new_answer_id(), topic, "care_ms_ii", ROWS, conversation_hash(conversation, TOKEN), "socketio",
        "v1", when, **kw,
    )  # fmt: skip


def rows_of(url: str, table: str) -> list[dict]:
    with store.engine_for(url).connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(store.metadata.tables[table]))]


def test_the_tables_are_made_on_first_use_apart_from_the_knowledge_store(url: str) -> None:
    record_answer(url, answer())
    tables = set(inspect(create_engine(url, future=True)).get_table_names())
    assert tables == {"answers_given", "answer_knowledge_rows", "answer_feedback"}


def test_an_answer_keeps_its_topic_trial_and_rows_and_no_with_feedback_and_a_reason_makes_one_row(
    url: str,
) -> None:
    given = answer()
    record_answer(url, given)
    assert record_feedback(url, given.answer_id, False, conversation=given.conversation)
    assert record_feedback(url, given.answer_id, False, "too_long", conversation=given.conversation)

    [kept] = rows_of(url, "answers_given")
    assert (kept["answer_id"], kept["topic"], kept["trial"], kept["channel"]) == (
        given.answer_id, "relapse", "care_ms_ii", "socketio",
    )  # fmt: skip
    assert {
        (row["table_name"], row["row_id"], row["row_key"]) for row in rows_of(url, "answer_knowledge_rows")
    } == {tuple(row) for row in ROWS}
    [said] = rows_of(url, "answer_feedback")
    assert (said["answer_id"], said["helpful"], said["reason"]) == (given.answer_id, False, "too_long")
    # Another "No" keeps the reason; "Yes" drops it. Still one row.
    record_feedback(url, given.answer_id, False)
    assert [(r["helpful"], r["reason"]) for r in rows_of(url, "answer_feedback")] == [(False, "too_long")]
    record_feedback(url, given.answer_id, True)
    assert [(r["helpful"], r["reason"]) for r in rows_of(url, "answer_feedback")] == [(True, None)]


def test_the_conversation_is_kept_only_as_a_keyed_hash_or_not_at_all(url: str) -> None:
    record_answer(url, answer("patient-1"))
    record_answer(
        url, AnswerRecord(new_answer_id(), "relapse", None, conversation=conversation_hash("x", None))
    )
    kept = [row["conversation"] for row in rows_of(url, "answers_given")]
    assert "patient-1" not in str(rows_of(url, "answers_given"))
    assert sorted(kept, key=str) == sorted([conversation_hash("patient-1", TOKEN), None], key=str)
    assert conversation_hash("patient-1", TOKEN) != conversation_hash("patient-1", "another-token")


def test_feedback_is_not_kept_for_an_unknown_answer_or_from_another_conversation(url: str) -> None:
    given = answer("patient-1")
    record_answer(url, given)
    assert not record_feedback(url, new_answer_id(), True)
    assert not record_feedback(url, given.answer_id, True, conversation=conversation_hash("patient-2", TOKEN))
    assert rows_of(url, "answer_feedback") == []
    with pytest.raises(ValueError):
        record_feedback(url, given.answer_id, False, "my own words")
    with pytest.raises(ValueError):
        record_feedback(url, given.answer_id, True, "too_long")
    with pytest.raises(ValueError):
        record_feedback(url, "'; drop table answers_given; --", True)


def test_deleting_a_conversation_deletes_its_answers_rows_and_feedback_and_no_one_else_s(url: str) -> None:
    mine, theirs = answer("patient-1"), answer("patient-2")
    for given in (mine, theirs):
        record_answer(url, given)
        record_feedback(url, given.answer_id, False, "wrong")
    assert forget_conversation(url, conversation_hash("patient-1", TOKEN)) == 1
    assert [row["answer_id"] for row in rows_of(url, "answers_given")] == [theirs.answer_id]
    assert [row["answer_id"] for row in rows_of(url, "answer_feedback")] == [theirs.answer_id]
    assert {row["answer_id"] for row in rows_of(url, "answer_knowledge_rows")} == {theirs.answer_id}


def test_retention_removes_answers_and_feedback_older_than_the_period_only(url: str) -> None:
    old, recent = answer(when=NOW - timedelta(days=31)), answer(when=NOW - timedelta(days=29))
    for given in (old, recent):
        record_answer(url, given)
        record_feedback(url, given.answer_id, True, now=given.answered_at)
    assert sweep(url, timedelta(days=30), now=NOW) == 1
    assert [row["answer_id"] for row in rows_of(url, "answers_given")] == [recent.answer_id]
    assert [row["answer_id"] for row in rows_of(url, "answer_feedback")] == [recent.answer_id]
    assert {row["answer_id"] for row in rows_of(url, "answer_knowledge_rows")} == {recent.answer_id}


def test_the_report_reads_feedback_by_topic_within_its_dates(url: str) -> None:
    inside = [answer(topic="relapse"), answer(topic="disability"), answer(topic="relapse")]
    outside = answer(topic="relapse", when=NOW - timedelta(days=10))
    unrated = answer(topic="infections")
    for given in [*inside, outside, unrated]:
        record_answer(url, given)
    record_feedback(url, inside[0].answer_id, True)
    record_feedback(url, inside[1].answer_id, False, "unclear")
    record_feedback(url, inside[2].answer_id, False)
    record_feedback(url, outside.answer_id, True)
    got = feedback_by_topic(url, date(2026, 11, 25), NOW + timedelta(hours=1))
    assert sorted(got) == sorted(
        [
            FeedbackRow("relapse", "care_ms_ii", True, None),
            FeedbackRow("disability", "care_ms_ii", False, "unclear"),
            FeedbackRow("relapse", "care_ms_ii", False, None),
        ]
    )
    assert feedback_by_topic(url, NOW + timedelta(hours=1), NOW + timedelta(days=1)) == []


def test_the_default_store_is_a_sqlite_file_under_var_and_the_setting_overrides_it() -> None:
    assert store.store_url({}) == f"sqlite:///{store.PROJECT_ROOT / 'var' / 'feedback.db'}"
    assert (
        store.store_url({"FEEDBACK_STORE_URL": "postgresql://f@db/feedback"}) == "postgresql://f@db/feedback"
    )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_writer_never_makes_anyone_wait_and_stops_trying_a_dead_store_for_a_while(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    writer = Writer(clock)
    gate = threading.Event()
    started = time.perf_counter()
    slow = writer.submit(lambda: gate.wait(5), "slow")
    assert time.perf_counter() - started < 0.1  # submitted, not run
    gate.set()
    assert slow.result(5) is True

    dead_url = "postgresql://nobody@127.0.0.1:1/feedback"
    failed = writer.submit(lambda: record_answer(dead_url, answer()), "answer")
    with pytest.raises(Exception) as raised:
        failed.result(10)
    assert store.is_outage(raised.value)
    refused = writer.submit(lambda: 1, "answer")
    with pytest.raises(StoreDown):
        refused.result(0)  # refused at once: nobody waits for a store that just failed
    clock.now += store.RETRY_SECONDS
    assert writer.submit(lambda: 2, "answer").result(5) == 2
    assert writer.down_since is None
    logged = caplog.text
    assert "cannot be written (OperationalError)" in logged and "written again" in logged
    assert "patient-1" not in logged


def test_tables_another_server_made_are_used_as_they_are(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    with create_engine(url, future=True).begin() as connection:
        store.metadata.create_all(connection)
        connection.execute(text("SELECT 1"))
    record_answer(url, answer())
    assert len(rows_of(url, "answers_given")) == 1


def _record_at_once(url: str, barrier: Any, results: Any) -> None:
    """One server's first answer, at the same moment as the others' (a process of its own)."""
    barrier.wait()
    try:
        record_answer(url, AnswerRecord(new_answer_id(), "relapse", None))
        results.put("kept")
    except Exception as error:  # noqa: BLE001 (reported to the test)
        results.put(type(error).__name__)


def test_servers_starting_together_on_a_new_postgresql_all_make_or_find_the_tables() -> None:
    """Every Rasa server and action server makes the tables on first use: on PostgreSQL two at once
    collide (a duplicate type), and the one that loses finds them made."""
    import multiprocessing

    from tests.services import require_postgres, scratch_database

    with scratch_database(require_postgres(), "feedback_race") as url:
        context = multiprocessing.get_context("spawn")
        barrier, results = context.Barrier(6), context.Queue()
        servers = [context.Process(target=_record_at_once, args=(url, barrier, results)) for _ in range(6)]
        for server in servers:
            server.start()
        for server in servers:
            server.join(120)
        assert [results.get(timeout=5) for _ in servers] == ["kept"] * 6
        assert len(rows_of(url, "answers_given")) == 6
        store._engine(url).dispose()
