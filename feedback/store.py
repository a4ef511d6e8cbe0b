"""The feedback store: every answer given from the knowledge store, and whether it helped.

It is a database of its own, `FEEDBACK_STORE_URL` (any SQLAlchemy URL; PostgreSQL in
production), by default the SQLite file `var/feedback.db`, so it works on a fresh machine with no
database server. It is never the knowledge store: the loader replaces every row of that one (and
its SQLite file) on each load, and would take the feedback with it. Its tables have a MetaData of
their own and are created on first use.

What it keeps, and what it never keeps:

- `answers_given`: one row per answer: a random answer id, its topic or topics ("relapse", or
  "relapse+disability" for two in one reply), its trial or trials ("care_ms_ii"), the channel, the
  knowledge load it was read from, and when. The conversation only as a keyed hash
  (`conversation_hash`: HMAC-SHA-256 keyed from ACTION_SERVER_TOKEN, as log lines are, under a
  label of its own), and not at all when there is no token.
- `answer_knowledge_rows`: the knowledge-store rows the answer drew on: their table, their id in
  that load, and a key that stays the same from load to load ("care_ms_ii/relapse/alemtuzumab").
- `answer_feedback`: at most one row per answer: helpful or not, an optional reason from
  `REASONS`, and when. Pressed again, the row changes; there is never a second one.

Never what a patient typed. The conversations' retention and deletion rules cover it:
`sweep` removes answers (with their rows and feedback) older than the retention period, and
`forget_conversation` removes one conversation's (the Rasa server runs both:
connectors/conversations.py). `feedback_by_topic` is what the content team's report reads.

Every function here talks to the database and may raise `SQLAlchemyError`. The servers never call
them on a patient's turn: `Writer` runs them on a thread of its own, so that a store that is
down or slow never holds up an answer.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import queue
import re
import secrets
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple, Sequence, TypeVar

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    event,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
URL_VARIABLE = "FEEDBACK_STORE_URL"
DEFAULT_PATH = PROJECT_ROOT / "var" / "feedback.db"
TOKEN_VARIABLE = "ACTION_SERVER_TOKEN"
# Why an answer did not help, as the patient may choose one (the words they see are the
# actions' and the widget's: actions/feedback.py). Keys are short: Telegram carries a button's
# payload, which names one, in at most 64 bytes.
REASONS = ("unclear", "not_asked", "too_long", "wrong")
# An answer id: 12 random bytes, URL-safe base64 (`new_answer_id`).
ANSWER_ID = re.compile(r"[A-Za-z0-9_-]{16}")
# A database that does not answer is given up on after this long, and, once down, tried again
# at most this often.
CONNECT_SECONDS = 3
RETRY_SECONDS = 5.0
HASH_LABEL = b"feedback store: conversation ids\0"
T = TypeVar("T")

metadata = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    }
)
answers = Table(
    "answers_given",
    metadata,
    Column("answer_id", String(32), primary_key=True),
    Column("conversation", String(64), index=True),  # the keyed hash, or NULL
    Column("topic", String(200), nullable=False),
    Column("trial", String(200)),
    Column("channel", String(32)),
    Column("knowledge_version", String(32)),
    Column("answered_at", DateTime(timezone=True), nullable=False, index=True),
)
knowledge_rows = Table(
    "answer_knowledge_rows",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "answer_id", ForeignKey("answers_given.answer_id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("table_name", String(64), nullable=False),
    Column("row_id", Integer),
    Column("row_key", String(300), nullable=False),
)
feedback = Table(
    "answer_feedback",
    metadata,
    Column("answer_id", ForeignKey("answers_given.answer_id", ondelete="CASCADE"), primary_key=True),
    Column("helpful", Boolean, nullable=False),
    Column("reason", String(32)),
    Column("given_at", DateTime(timezone=True), nullable=False, index=True),
)


class RowReference(NamedTuple):
    """A knowledge-store row an answer drew on."""

    table: str
    row_id: int | None
    key: str


class FeedbackRow(NamedTuple):
    """One answer's feedback, as the content team's report reads it."""

    topic: str
    trial: str | None
    helpful: bool
    reason: str | None


@dataclass(frozen=True)
class AnswerRecord:
    """An answer as the store keeps it: nothing the patient typed."""

    answer_id: str
    topic: str
    trial: str | None
    rows: Sequence[RowReference] = ()
    conversation: str | None = None  # `conversation_hash`'s, never the id itself
    channel: str | None = None
    knowledge_version: str | None = None
    answered_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def store_url(environment: Mapping[str, str] = os.environ) -> str:
    """`FEEDBACK_STORE_URL`, or the embedded SQLite file."""
    return environment.get(URL_VARIABLE, "").strip() or f"sqlite:///{DEFAULT_PATH}"


def new_answer_id() -> str:
    return secrets.token_urlsafe(12)


def conversation_hash(conversation_id: str, token: str | None) -> str | None:
    """How the store names a conversation: an HMAC of its id, keyed from the token both servers
    hold, so both find the same rows and nobody without the token can tell whose they are.
    None without a token: the rows then name no conversation at all."""
    token = (token or "").strip()
    if not token:
        return None
    key = hashlib.sha256(HASH_LABEL + token.encode()).digest()
    return hmac.new(key, conversation_id.encode(errors="replace"), hashlib.sha256).hexdigest()


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    """One engine per URL and process, each connection tested before use. A database server that
    does not answer is given up on after CONNECT_SECONDS."""
    parsed = make_url(url)
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        options["connect_args"] = {"connect_timeout": CONNECT_SECONDS}
    if parsed.get_backend_name() == "sqlite":
        options["connect_args"] = {"timeout": CONNECT_SECONDS}  # waiting for the other server's write
        if parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, pool_pre_ping=True, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_foreign_keys)
    return engine


def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_ready: set[str] = set()
_ready_lock = threading.Lock()


def engine_for(url: str) -> Engine:
    """The store's engine, its tables created the first time this process uses it."""
    engine = _engine(url)
    if url not in _ready:
        with _ready_lock:
            if url not in _ready:
                try:
                    metadata.create_all(engine, checkfirst=True)
                except (IntegrityError, ProgrammingError):
                    # PostgreSQL: the other server made them at that very moment. Now they are there.
                    metadata.create_all(engine, checkfirst=True)
                _ready.add(url)
    return engine


def _utc(moment: datetime | date) -> datetime:
    """A time as the store compares them: aware, in UTC (a date is its midnight, a naive time UTC)."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def record_answer(url: str, answer: AnswerRecord) -> None:
    """Keep an answer and the rows it drew on."""
    if not ANSWER_ID.fullmatch(answer.answer_id):
        raise ValueError("An answer id is 16 letters, digits, '-' or '_'.")
    with engine_for(url).begin() as connection:
        connection.execute(
            insert(answers).values(
                answer_id=answer.answer_id,
                conversation=answer.conversation,
                topic=answer.topic[:200],
                trial=answer.trial[:200] if answer.trial else None,
                channel=answer.channel[:32] if answer.channel else None,
                knowledge_version=answer.knowledge_version,
                answered_at=_utc(answer.answered_at),
            )
        )
        if answer.rows:
            connection.execute(
                insert(knowledge_rows),
                [
                    {"answer_id": answer.answer_id, "table_name": row.table, "row_id": row.row_id,
                     "row_key": row.key[:300]}
                    for row in answer.rows
                ],
            )  # fmt: skip


def record_feedback(
    url: str,
    answer_id: str,
    helpful: bool,
    reason: str | None = None,
    conversation: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Keep what a patient said of an answer; whether it was kept.

    It is not kept for an answer the store does not have (the store was down when it was given,
    or retention took it), nor, when both are known, for an answer given in another conversation.
    "No" and then a reason make one row: the reason is added to it. A "No" without a reason
    keeps a reason given before; "Yes" drops it.
    """
    if not isinstance(answer_id, str) or not ANSWER_ID.fullmatch(answer_id):
        raise ValueError("An answer id is 16 letters, digits, '-' or '_'.")
    if reason is not None and (reason not in REASONS or helpful):
        raise ValueError(f"A reason is one of {', '.join(REASONS)}, for an answer that did not help.")
    values: dict[str, Any] = {"helpful": bool(helpful), "given_at": _utc(now or datetime.now(timezone.utc))}
    if helpful or reason is not None:
        values["reason"] = reason
    for attempt in range(2):
        try:
            with engine_for(url).begin() as connection:
                given_in = connection.execute(
                    select(answers.c.conversation).where(answers.c.answer_id == answer_id)
                ).first()
                if given_in is None:
                    return False
                if (
                    None not in (given_in.conversation, conversation)
                    and given_in.conversation != conversation
                ):
                    return False
                changed = connection.execute(
                    update(feedback).where(feedback.c.answer_id == answer_id).values(**values)
                ).rowcount
                if not changed:
                    connection.execute(
                        insert(feedback).values(answer_id=answer_id, **{"reason": None, **values})
                    )
            return True
        except IntegrityError:
            if attempt:  # the row another press made is there now: the update takes it
                raise
    return False


def _answers_of(conversation: str) -> Any:
    return select(answers.c.answer_id).where(answers.c.conversation == conversation)


def forget_conversation(url: str, conversation: str) -> int:
    """Delete one conversation's answers, their rows and their feedback; how many answers."""
    mine = _answers_of(conversation)
    with engine_for(url).begin() as connection:
        connection.execute(delete(feedback).where(feedback.c.answer_id.in_(mine)))
        connection.execute(delete(knowledge_rows).where(knowledge_rows.c.answer_id.in_(mine)))
        return connection.execute(delete(answers).where(answers.c.conversation == conversation)).rowcount


def count_of_conversation(url: str, conversation: str) -> int:
    """How many answers of one conversation the store keeps (the operators' dry run)."""
    with engine_for(url).connect() as connection:
        return len(connection.execute(_answers_of(conversation)).all())


def sweep(url: str, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete the answers given before the retention period, with their rows and feedback, and any
    feedback given before it; how many answers."""
    cutoff = _utc(now or datetime.now(timezone.utc)) - older_than
    old = select(answers.c.answer_id).where(answers.c.answered_at < cutoff)
    with engine_for(url).begin() as connection:
        connection.execute(
            delete(feedback).where(or_(feedback.c.answer_id.in_(old), feedback.c.given_at < cutoff))
        )
        connection.execute(delete(knowledge_rows).where(knowledge_rows.c.answer_id.in_(old)))
        return connection.execute(delete(answers).where(answers.c.answered_at < cutoff)).rowcount


def count_older_than(url: str, older_than: timedelta, now: datetime | None = None) -> int:
    """How many answers `sweep` would delete (the operators' dry run)."""
    cutoff = _utc(now or datetime.now(timezone.utc)) - older_than
    with engine_for(url).connect() as connection:
        return len(
            connection.execute(select(answers.c.answer_id).where(answers.c.answered_at < cutoff)).all()
        )


def feedback_by_topic(url: str, since: datetime | date, until: datetime | date) -> list[FeedbackRow]:
    """(topic, trial, helpful, reason) of every answer given from `since` up to `until` (not
    included) that has feedback, by topic and trial; times without a zone are UTC."""
    query = (
        select(answers.c.topic, answers.c.trial, feedback.c.helpful, feedback.c.reason)
        .join_from(answers, feedback, answers.c.answer_id == feedback.c.answer_id)
        .where(answers.c.answered_at >= _utc(since), answers.c.answered_at < _utc(until))
        .order_by(answers.c.topic, answers.c.trial, answers.c.answered_at)
    )
    with engine_for(url).connect() as connection:
        return [
            FeedbackRow(row.topic, row.trial, bool(row.helpful), row.reason)
            for row in connection.execute(query)
        ]


def is_outage(error: BaseException) -> bool:
    """Whether a failure means the database cannot be used (rather than a bad row)."""
    return isinstance(error, (DBAPIError, OSError)) and not isinstance(error, IntegrityError)


class StoreDown(RuntimeError):
    """The feedback store failed a moment ago: the write was not tried (see `Writer`)."""


class Writer:
    """Runs the store's work on one thread of its own, in order, so that nobody waits for it.

    `submit` returns at once with a future; a patient's answer never waits on it. While the store
    is down, work is not queued but refused at once (`StoreDown`), and the store is tried again
    every RETRY_SECONDS. Each outage is logged once when it begins, with the exception's type,
    and once when it ends, with how much work was lost: never anything a patient typed.
    """

    QUEUE_SIZE = 1000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._queue: queue.Queue[tuple[Callable[[], Any], str, Future]] = queue.Queue(self.QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self._retry_at = 0.0
        self.lost = 0

    def submit(self, work: Callable[[], T], what: str) -> Future[T]:
        """Run `work` (named `what` in the log) on the writer's thread."""
        future: Future[T] = Future()
        if not self._worth_trying():
            self.lost += 1
            future.set_exception(StoreDown("The feedback store is down"))
            return future
        try:
            self._queue.put_nowait((work, what, future))
        except queue.Full:
            self.lost += 1
            logger.error("The feedback store's queue is full: a write (%s) was dropped", what)
            future.set_exception(StoreDown("The feedback store's queue is full"))
            return future
        self._start()
        return future

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until the work submitted so far is done (for tests and for shutting down)."""
        self._start()
        done: Future[None] = Future()
        self._queue.put((lambda: None, "drain", done), timeout=timeout)
        done.result(timeout)

    def _worth_trying(self) -> bool:
        return self.down_since is None or self.clock() >= self._retry_at

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="feedback-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            work, what, future = self._queue.get()
            if not future.set_running_or_notify_cancel():
                continue
            if what != "drain" and not self._worth_trying():
                self.lost += 1
                future.set_exception(StoreDown("The feedback store is down"))
                continue
            try:
                result = work()
            except BaseException as error:  # noqa: BLE001 (reported on the future; the thread goes on)
                self._failed(what, error)
                future.set_exception(error)
            else:
                self._succeeded()
                future.set_result(result)

    def _failed(self, what: str, error: BaseException) -> None:
        if not is_outage(error):
            logger.error("A feedback store write (%s) failed: %s", what, type(error).__name__)
            return
        self.lost += 1
        self._retry_at = self.clock() + RETRY_SECONDS
        if self.down_since is None:
            self.down_since = self.clock()
            logger.error(
                "The feedback store cannot be written (%s): answers go on without it, trying again "
                "every %.0f s",
                type(error).__name__,
                RETRY_SECONDS,
            )

    def _succeeded(self) -> None:
        if self.down_since is not None:
            logger.warning(
                "The feedback store is written again, after %.0f s; %d writes were lost",
                self.clock() - self.down_since,
                self.lost,
            )
            self.down_since, self.lost = None, 0


WRITER = Writer()  # one per process
