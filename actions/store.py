"""Questions the assistant asks of the knowledge store.

Each method is one query in SQLAlchemy 2.0 style. `KnowledgeStore.open()` gives a store for
one piece of work, reading everything afresh; it turns a missing or unreachable database into
`StoreUnavailable`. Within that work the same question is asked of the database once: composing
an answer, its picture and its offers asks many of them again (the trials, the names in the
message).

The action server answers through `read_store`, which keeps what each of its threads has read
from one answer to the next, for as long as the store holds the same load of the knowledge files
(`KnowledgeVersion`, a new value on every load). Each answer then asks the database one question,
which version it holds, where it asked fourteen on average and a row's sources one row at a time.
The next answer after a load reads everything afresh. Questions that carry a patient's words
(which treatment does this message name?) are kept for that answer only.
"""

from __future__ import annotations

import asyncio
import re
import threading
from contextlib import contextmanager
from typing import Any, Callable, Hashable, Iterable, Iterator, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from actions import metrics
from actions.database import StoreUnavailable, database_url, reading_engine
from actions.matching import find_all_mentions, find_mention
from actions.models import (
    Arm,
    Comparison,
    ContentReview,
    Endpoint,
    FollowUp,
    FollowUpResult,
    GlossaryTerm,
    Guidance,
    KnowledgeVersion,
    OtherTrial,
    Result,
    SafetyFinding,
    Source,
    Treatment,
    Trial,
)

# The words of an alias that name a trial or its number ("CARE-MS 2", "CAREMSII"), never matched
# by near spelling.
TRIAL_NAME_OR_NUMBER = re.compile(r"care|\b(i|ii|1|2|one|two)\b", re.IGNORECASE)
# How alike a misspelt description of a trial's people must be: "new to treatmnt" (0.97) and
# "never been tretaed" (0.94) are found; "already tested" (0.90 to "already treated") is not.
DESCRIBED_CUTOFF = 0.92
T = TypeVar("T")


class KnowledgeStore:
    """Read-only access to trials, results, guidance and glossary within one session."""

    def __init__(self, session: Session, kept: dict[Hashable, Any] | None = None, version: str | None = None):
        self.session = session
        self.version = version  # the load of the knowledge files it holds, where known
        self._kept: dict[Hashable, Any] = {} if kept is None else kept  # may outlive this store
        self._answered: dict[Hashable, Any] = {}  # this store's only: questions with a patient's words

    def _once(self, question: Hashable, ask: Callable[[], T]) -> T:
        """`ask()`'s answer, asked of the database the first time `question` is asked only.
        Never for a question that carries a patient's words: see `_once_in_this_answer`."""
        if question not in self._kept:
            self._kept[question] = ask()
        return self._kept[question]

    def _once_in_this_answer(self, question: Hashable, ask: Callable[[], T]) -> T:
        """`_once` for a question that carries a patient's words: not kept past this store."""
        if question not in self._answered:
            self._answered[question] = ask()
        return self._answered[question]

    @classmethod
    @contextmanager
    def open(cls, url: str | None = None) -> Iterator[KnowledgeStore]:
        try:
            with Session(reading_engine(url), future=True) as session:
                yield cls(session)
        except SQLAlchemyError as error:
            raise StoreUnavailable(f"The knowledge store could not be read: {error}") from error

    def trial(self, key: str | None = None) -> Trial:
        """The trial with `key`, or the default trial (the one marked default, else the first)."""
        found = [trial for trial in self.trials() if not key or trial.key == key][:1]
        if not found:
            raise StoreUnavailable(f"The knowledge store has no trial {key or ''}".strip())
        return found[0]

    def trials(self) -> list[Trial]:
        """Every trial, the default one first."""
        query = select(Trial).order_by(Trial.is_default.desc(), Trial.key)
        return list(self._once("trials", lambda: list(self.session.execute(query).scalars())))

    def find_trials(self, words: str) -> list[Trial]:
        """The trials `words` name, by name, key or alias, in the order written.

        A trial's name and number are found as written only: "CARE-MS I" and "CARE-MS II" differ
        by one letter. When none is named, an alias describing a trial's people may be found
        misspelt ("people new to treatmnt"), the closest one only.
        """

        def find() -> list[Trial]:
            named = find_all_mentions(words, by_name(self.trials()))
            if named:
                return named
            near = find_mention(words, self._described_trials(), cutoff=DESCRIBED_CUTOFF)
            return [near] if near is not None else []

        return list(self._once_in_this_answer(("find_trials", words), find))

    def _described_trials(self) -> dict[str, Trial]:
        """Each trial under the aliases that describe its people, not its name or number."""

        def described() -> dict[str, Trial]:
            return {
                alias: trial
                for trial in self.trials()
                for alias in trial.aliases
                if not TRIAL_NAME_OR_NUMBER.search(alias)
            }

        return self._once("described_trials", described)

    def endpoints_on(self, trial: Trial, topic: str) -> list[Endpoint]:
        return self._endpoints(("on", trial.id, topic), trial, Endpoint.topic == topic)

    def caveat_endpoints(self, trial: Trial) -> list[Endpoint]:
        return self._endpoints(("caveat", trial.id), trial, Endpoint.in_caveat.is_(True))

    def primary_endpoints(self, trial: Trial) -> list[Endpoint]:
        return self._endpoints(("primary", trial.id), trial, Endpoint.is_primary.is_(True))

    def _endpoints(self, question: Hashable, trial: Trial, condition: ColumnElement[bool]) -> list[Endpoint]:
        query = select(Endpoint).where(Endpoint.trial_id == trial.id, condition).order_by(Endpoint.position)
        return list(self._once(question, lambda: list(self.session.execute(query).scalars())))

    def findings(
        self, trial: Trial, topic: str | None = None, in_caveat: bool | None = None
    ) -> list[SafetyFinding]:
        query = select(SafetyFinding).where(SafetyFinding.trial_id == trial.id)
        question = ("findings", trial.id, topic, in_caveat)
        return list(self._once(question, lambda: self._on_topic(SafetyFinding, query, topic, in_caveat)))

    def guidance(
        self, treatment: Treatment, topic: str | None = None, in_caveat: bool | None = None
    ) -> list[Guidance]:
        query = select(Guidance).where(Guidance.treatment_id == treatment.id)
        question = ("guidance", treatment.id, topic, in_caveat)
        return list(self._once(question, lambda: self._on_topic(Guidance, query, topic, in_caveat)))

    def _on_topic(self, model: type, query: Select, topic: str | None, in_caveat: bool | None) -> list:
        """`query`'s rows, narrowed to a topic and to those in (or not in) the safety note."""
        if topic is not None:
            query = query.where(model.topic == topic)
        if in_caveat is not None:
            query = query.where(model.in_caveat.is_(in_caveat))
        return list(self.session.execute(query.order_by(model.position)).scalars())

    def follow_ups(self, trial: Trial) -> list[FollowUp]:
        """What happened after `trial`: its follow-up studies (kept apart from its results)."""
        query = select(FollowUp).where(FollowUp.trial_id == trial.id).order_by(FollowUp.key)
        return list(self._once(("follow_ups", trial.id), lambda: list(self.session.execute(query).scalars())))

    def topics(self, trial: Trial) -> set[str]:
        """Every topic this trial has figures or findings on."""
        endpoint_topics = select(Endpoint.topic).where(Endpoint.trial_id == trial.id)
        finding_topics = select(SafetyFinding.topic).where(SafetyFinding.trial_id == trial.id)
        query = endpoint_topics.union(finding_topics)
        return set(self._once(("topics", trial.id), lambda: set(self.session.execute(query).scalars())))

    def find_treatment(self, words: str) -> Treatment | None:
        """The treatment that `words` names or mentions, by name, alias or near spelling."""

        def find() -> Treatment | None:
            return find_mention(words, by_name(self.treatments()))

        return self._once_in_this_answer(("find_treatment", words), find)

    def find_treatments(self, words: str) -> list[Treatment]:
        """Every treatment `words` names exactly, in the order written."""

        def find() -> list[Treatment]:
            return find_all_mentions(words, by_name(self.treatments()))

        return list(self._once_in_this_answer(("find_treatments", words), find))

    def treatments(self) -> list[Treatment]:
        return list(self._once("treatments", lambda: list(self.session.execute(select(Treatment)).scalars())))

    def find_other_trial(self, words: str) -> OtherTrial | None:
        """A trial with no results here that `words` name (by alias only: see other_trials.yml)."""

        def find() -> OtherTrial | None:
            others = self._once(
                "other_trials", lambda: list(self.session.execute(select(OtherTrial)).scalars())
            )
            return find_mention(words, {alias: trial for trial in others for alias in trial.aliases})

        return self._once_in_this_answer(("find_other_trial", words), find)

    def find_glossary_term(self, words: str) -> GlossaryTerm | None:
        terms = self._once("glossary", lambda: list(self.session.execute(select(GlossaryTerm)).scalars()))
        names = {name: term for term in terms for name in (term.term, *term.aliases)}
        return find_mention(words, names)

    def glossary_words(self) -> list[str]:
        query = select(GlossaryTerm.term).order_by(GlossaryTerm.term)
        return list(self._once("glossary_words", lambda: list(self.session.execute(query).scalars())))

    def arms_for(self, trial: Trial, treatment: Treatment) -> list[Arm]:
        query = (
            select(Arm)
            .where(Arm.trial_id == trial.id, Arm.treatment_id == treatment.id)
            .order_by(Arm.position)
        )
        question = ("arms_for", trial.id, treatment.id)
        return list(self._once(question, lambda: list(self.session.execute(query).scalars())))

    def sources_of_figures(self) -> list[Source]:
        """The sources that trial results, comparisons and safety guidance come from."""

        def ask() -> list[Source]:
            cited: dict[str, Source] = {}
            for model in (Result, Comparison, FollowUpResult, Guidance):
                # One query per kind of row, not one per row for its sources.
                query = select(Source).join_from(model, model.sources).distinct()
                cited.update((source.key, source) for source in self.session.execute(query).scalars())
            return sorted(cited.values(), key=lambda source: source.published)

        return list(self._once("sources_of_figures", ask))

    def reviews(self) -> list[ContentReview]:
        """Each knowledge file's last check and next review date, soonest due first."""
        query = select(ContentReview).order_by(ContentReview.next_review_due, ContentReview.file)
        return list(self._once("reviews", lambda: list(self.session.execute(query).scalars())))

    def sources(self) -> list[Source]:
        query = select(Source).order_by(Source.key)
        return list(self._once("sources", lambda: list(self.session.execute(query).scalars())))


Named = TypeVar("Named", Trial, Treatment)


def by_name(things: Iterable[Named]) -> dict[str, Named]:
    """Each trial or treatment under every word for it: its name, its key and its aliases."""
    return {name: thing for thing in things for name in (thing.name, thing.key, *thing.aliases)}


class _Kept:
    """One thread's session on one store, and what it has read of the version it holds."""

    def __init__(self, session: Session):
        self.session = session
        self.version: str | None = None
        self.read: dict[Hashable, Any] = {}


_threads = threading.local()


@contextmanager
def kept_store(url: str | None = None) -> Iterator[KnowledgeStore]:
    """A store that keeps what this thread has read, while the store holds the same version.

    Each use asks which version the store holds. A store built before versions were recorded
    keeps nothing. Rows are never changed through it: an answer that changed one is a bug, and
    drops all that was kept rather than write it. Any failure drops it too.
    """
    url = url or database_url()
    engine = reading_engine(url)  # a missing embedded store fails here, every time
    kept_here: dict[str, _Kept] = _threads.__dict__.setdefault("kept", {})
    kept = kept_here.get(url)
    if kept is None:
        kept = kept_here[url] = _Kept(Session(engine, future=True, autoflush=False, expire_on_commit=False))
    session = kept.session
    try:
        try:
            version = session.execute(select(KnowledgeVersion.version)).scalars().first()
        except SQLAlchemyError as error:
            if not _no_version_table(error):
                raise  # the database failed: not tried again with this answer
            session.rollback()
            version = None
        if version is None or version != kept.version:
            session.expunge_all()
            kept.version, kept.read = version, {}
        yield KnowledgeStore(session, kept.read if version is not None else None, version)
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("An answer changed rows of the knowledge store")
        session.commit()  # ends the transaction; what was read stays (expire_on_commit=False)
    except BaseException as error:
        del kept_here[url]
        session.close()
        if isinstance(error, SQLAlchemyError):
            raise StoreUnavailable(f"The knowledge store could not be read: {error}") from error
        raise


def _no_version_table(error: SQLAlchemyError) -> bool:
    """Whether the store has no version table (it was loaded before there was one), as SQLite
    ("no such table") and PostgreSQL ("relation ... does not exist") say it."""
    said = str(getattr(error, "orig", error)).casefold()
    return KnowledgeVersion.__tablename__ in said and ("no such table" in said or "does not exist" in said)


async def read_store(work: Callable[[KnowledgeStore], T]) -> T:
    """Run `work` on the store off the event loop, so a slow database does not stall others."""

    def run() -> T:
        with metrics.store_read((StoreUnavailable,)), kept_store() as store:
            return work(store)

    return await asyncio.to_thread(run)
