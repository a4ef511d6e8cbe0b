"""The knowledge store's tables.

The schema is multi-trial: nothing here names a trial, an arm or a figure. Every row that
states a fact is `Cited`: it links to the sources it comes from, so an answer can always say
where its figures come from.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import List

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declarative_base, declared_attr, relationship

# Named constraints, so that a later migration can find and change them on every database.
NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}
Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class Source(Base):
    """A publication or document that figures and facts come from."""

    __tablename__ = "sources"

    id: Mapped[int] = Column(Integer, primary_key=True)
    key: Mapped[str] = Column(String(64), unique=True, nullable=False)
    citation: Mapped[str] = Column(Text, nullable=False)
    short_citation: Mapped[str] = Column(Text, nullable=False)
    link: Mapped[str | None] = Column(Text)
    published: Mapped[str] = Column(String(32), nullable=False)


class ContentReview(Base):
    """When one knowledge file was last checked, how, by which role, and when it is next due.

    `kind` says what the check was: `source check` (against the published sources, by the
    content team) or `clinical review` (signed off by a clinician). Nothing claims a clinical
    review that did not happen: answers from a file with a source check say a clinician has not
    reviewed it yet. `override_reason` is set only when the file was loaded past its next review
    date on purpose (`python -m actions.loader --allow-overdue REASON`); answers then say so.
    """

    __tablename__ = "content_reviews"

    id: Mapped[int] = Column(Integer, primary_key=True)
    file: Mapped[str] = Column(String(200), unique=True, nullable=False)
    kind: Mapped[str] = Column(String(32), nullable=False)
    reviewed_on: Mapped[date] = Column(Date, nullable=False)
    reviewed_by: Mapped[str] = Column(String(100), nullable=False)
    next_review_due: Mapped[date] = Column(Date, nullable=False)
    override_reason: Mapped[str | None] = Column(Text)
    overridden_at: Mapped[datetime | None] = Column(DateTime(timezone=True))


class Cited:
    """Mixin: gives a table a many-to-many link to `Source`, through its own link table, and
    the review of the knowledge file its row was read from."""

    @declared_attr
    def review_id(cls) -> Mapped[int | None]:
        return Column(Integer, ForeignKey("content_reviews.id", ondelete="SET NULL"))

    @declared_attr
    def review(cls) -> Mapped[ContentReview | None]:
        return relationship(ContentReview)

    @declared_attr
    def sources(cls) -> Mapped[List[Source]]:
        link_table = Table(
            f"{cls.__tablename__}_sources",
            Base.metadata,
            Column(
                "row_id",
                ForeignKey(f"{cls.__tablename__}.id", ondelete="CASCADE"),
                primary_key=True,
            ),
            Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
        )
        return relationship(Source, secondary=link_table, order_by=Source.key)


class Treatment(Cited, Base):
    """A medicine, shared by every trial that uses it."""

    __tablename__ = "treatments"

    id: Mapped[int] = Column(Integer, primary_key=True)
    key: Mapped[str] = Column(String(64), unique=True, nullable=False)
    name: Mapped[str] = Column(String(200), nullable=False)
    aliases: Mapped[List[str]] = Column(JSON, nullable=False, default=list)
    what_it_is: Mapped[str | None] = Column(Text)
    how_it_works: Mapped[str | None] = Column(Text)

    guidance: Mapped[List[Guidance]] = relationship(
        "Guidance", back_populates="treatment", order_by="Guidance.position"
    )


class Trial(Cited, Base):
    """One clinical trial and its design."""

    __tablename__ = "trials"

    id: Mapped[int] = Column(Integer, primary_key=True)
    key: Mapped[str] = Column(String(64), unique=True, nullable=False)
    name: Mapped[str] = Column(String(200), nullable=False)
    is_default: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    aliases: Mapped[List[str]] = Column(JSON, nullable=False, default=list)
    title: Mapped[str] = Column(Text, nullable=False)
    registration: Mapped[str | None] = Column(String(64))
    design: Mapped[str] = Column(Text, nullable=False)
    population: Mapped[str] = Column(Text, nullable=False)
    people_randomised: Mapped[int | None] = Column(Integer)
    allocation: Mapped[str] = Column(Text, nullable=False)
    conclusion: Mapped[str] = Column(Text, nullable=False)

    arms: Mapped[List[Arm]] = relationship(
        "Arm", back_populates="trial", order_by="Arm.position", cascade="all, delete-orphan"
    )
    endpoints: Mapped[List[Endpoint]] = relationship(
        "Endpoint",
        back_populates="trial",
        order_by="Endpoint.position",
        cascade="all, delete-orphan",
    )
    safety_findings: Mapped[List[SafetyFinding]] = relationship(
        "SafetyFinding",
        back_populates="trial",
        order_by="SafetyFinding.position",
        cascade="all, delete-orphan",
    )
    follow_ups: Mapped[List[FollowUp]] = relationship(
        "FollowUp", back_populates="trial", order_by="FollowUp.key", cascade="all, delete-orphan"
    )


class Arm(Cited, Base):
    """A treatment group in a trial (e.g. the experimental drug, or the comparator)."""

    __tablename__ = "arms"
    __table_args__ = (UniqueConstraint("trial_id", "key"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    trial_id: Mapped[int] = Column(ForeignKey("trials.id", ondelete="CASCADE"), nullable=False)
    treatment_id: Mapped[int] = Column(ForeignKey("treatments.id"), nullable=False)
    key: Mapped[str] = Column(String(64), nullable=False)
    name: Mapped[str] = Column(String(200), nullable=False)
    role: Mapped[str] = Column(String(32), nullable=False)
    dose: Mapped[str | None] = Column(Text)
    schedule: Mapped[str | None] = Column(Text)
    people_analysed: Mapped[int | None] = Column(Integer)
    note: Mapped[str | None] = Column(Text)
    position: Mapped[int] = Column(Integer, nullable=False, default=0)

    trial: Mapped[Trial] = relationship(Trial, back_populates="arms")
    treatment: Mapped[Treatment] = relationship(Treatment)


class Endpoint(Base):
    """Something a trial measured, with a plain-language definition."""

    __tablename__ = "endpoints"
    __table_args__ = (UniqueConstraint("trial_id", "key"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    trial_id: Mapped[int] = Column(ForeignKey("trials.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = Column(String(64), nullable=False)
    topic: Mapped[str] = Column(String(64), nullable=False, index=True)
    name: Mapped[str] = Column(Text, nullable=False)
    plain_name: Mapped[str] = Column(Text, nullable=False)
    outcome_phrase: Mapped[str] = Column(Text, nullable=False)
    definition: Mapped[str] = Column(Text, nullable=False)
    is_primary: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    category: Mapped[str] = Column(String(32), nullable=False)
    in_caveat: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    better_when: Mapped[str] = Column(String(16), nullable=False)
    position: Mapped[int] = Column(Integer, nullable=False, default=0)

    trial: Mapped[Trial] = relationship(Trial, back_populates="endpoints")
    results: Mapped[List[Result]] = relationship(
        "Result",
        back_populates="endpoint",
        order_by="Result.position",
        cascade="all, delete-orphan",
    )
    comparisons: Mapped[List[Comparison]] = relationship(
        "Comparison",
        back_populates="endpoint",
        order_by="Comparison.position",
        cascade="all, delete-orphan",
    )


class Result(Cited, Base):
    """One arm's figure for one endpoint.

    `value` is empty only when the endpoint does not apply to the arm; `not_applicable` then
    says why (an injected drug has no infusion reactions).
    """

    __tablename__ = "results"

    id: Mapped[int] = Column(Integer, primary_key=True)
    endpoint_id: Mapped[int] = Column(ForeignKey("endpoints.id", ondelete="CASCADE"), nullable=False)
    arm_id: Mapped[int] = Column(ForeignKey("arms.id", ondelete="CASCADE"), nullable=False)
    value: Mapped[float | None] = Column(Float)
    unit: Mapped[str | None] = Column(String(32))
    count: Mapped[int | None] = Column(Integer)
    denominator: Mapped[int | None] = Column(Integer)
    timepoint: Mapped[str | None] = Column(String(64))
    estimate: Mapped[str | None] = Column(String(64))
    not_applicable: Mapped[str | None] = Column(Text)
    position: Mapped[int] = Column(Integer, nullable=False, default=0)

    endpoint: Mapped[Endpoint] = relationship(Endpoint, back_populates="results")
    arm: Mapped[Arm] = relationship(Arm)


class Comparison(Cited, Base):
    """A between-arm comparison: a ratio with its confidence interval, and/or a p-value."""

    __tablename__ = "comparisons"

    id: Mapped[int] = Column(Integer, primary_key=True)
    endpoint_id: Mapped[int] = Column(ForeignKey("endpoints.id", ondelete="CASCADE"), nullable=False)
    experimental_arm_id: Mapped[int] = Column(ForeignKey("arms.id"), nullable=False)
    comparator_arm_id: Mapped[int] = Column(ForeignKey("arms.id"), nullable=False)
    measure: Mapped[str | None] = Column(String(64))
    value: Mapped[float | None] = Column(Float)
    ci_lower: Mapped[float | None] = Column(Float)
    ci_upper: Mapped[float | None] = Column(Float)
    ci_level: Mapped[float | None] = Column(Float)
    relative_change: Mapped[float | None] = Column(Float)
    p_value: Mapped[float | None] = Column(Float)
    p_value_is_upper_bound: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    position: Mapped[int] = Column(Integer, nullable=False, default=0)

    endpoint: Mapped[Endpoint] = relationship(Endpoint, back_populates="comparisons")
    experimental_arm: Mapped[Arm] = relationship(Arm, foreign_keys=[experimental_arm_id])
    comparator_arm: Mapped[Arm] = relationship(Arm, foreign_keys=[comparator_arm_id])


class SafetyFinding(Cited, Base):
    """A safety statement from a trial that is not a single figure (e.g. autoimmunity)."""

    __tablename__ = "safety_findings"
    __table_args__ = (UniqueConstraint("trial_id", "key"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    trial_id: Mapped[int] = Column(ForeignKey("trials.id", ondelete="CASCADE"), nullable=False)
    arm_id: Mapped[int | None] = Column(ForeignKey("arms.id"))
    key: Mapped[str] = Column(String(64), nullable=False)
    topic: Mapped[str] = Column(String(64), nullable=False)
    statement: Mapped[str] = Column(Text, nullable=False)
    in_caveat: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    # Its words in the short safety note under a benefit answer (the full statement is behind
    # "The risks in full"). Only a finding in the caveat has one.
    short_note: Mapped[str | None] = Column(Text)
    position: Mapped[int] = Column(Integer, nullable=False, default=0)

    trial: Mapped[Trial] = relationship(Trial, back_populates="safety_findings")
    arm: Mapped[Arm | None] = relationship(Arm)


class FollowUp(Cited, Base):
    """What happened after a trial to one of its groups: an extension study.

    Its figures are of another kind than the trial's: one group, no comparison group, only the
    people who chose to carry on, and extra treatment allowed. So it has no comparisons, and it
    is kept apart from the trial's endpoints, never to be mixed into a comparison.
    """

    __tablename__ = "follow_ups"

    id: Mapped[int] = Column(Integer, primary_key=True)
    trial_id: Mapped[int] = Column(ForeignKey("trials.id", ondelete="CASCADE"), nullable=False)
    arm_id: Mapped[int] = Column(ForeignKey("arms.id"), nullable=False)
    key: Mapped[str] = Column(String(64), unique=True, nullable=False)
    name: Mapped[str] = Column(String(200), nullable=False)
    registration: Mapped[str | None] = Column(String(64))
    design: Mapped[str] = Column(Text, nullable=False)
    who_is_counted: Mapped[str] = Column(Text, nullable=False)
    extra_treatment: Mapped[str | None] = Column(Text)

    trial: Mapped[Trial] = relationship(Trial, back_populates="follow_ups")
    arm: Mapped[Arm] = relationship(Arm)
    measures: Mapped[List[FollowUpMeasure]] = relationship(
        "FollowUpMeasure",
        back_populates="follow_up",
        order_by="FollowUpMeasure.position",
        cascade="all, delete-orphan",
    )


class FollowUpMeasure(Base):
    """Something a follow-up counted in its one group, with its results by year or period."""

    __tablename__ = "follow_up_measures"
    __table_args__ = (UniqueConstraint("follow_up_id", "key"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    follow_up_id: Mapped[int] = Column(ForeignKey("follow_ups.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = Column(String(64), nullable=False)
    topic: Mapped[str] = Column(String(64), nullable=False)
    name: Mapped[str] = Column(Text, nullable=False)
    outcome_phrase: Mapped[str] = Column(Text, nullable=False)
    definition: Mapped[str | None] = Column(Text)
    position: Mapped[int] = Column(Integer, nullable=False, default=0)

    follow_up: Mapped[FollowUp] = relationship(FollowUp, back_populates="measures")
    results: Mapped[List[FollowUpResult]] = relationship(
        "FollowUpResult",
        back_populates="measure",
        order_by="FollowUpResult.position",
        cascade="all, delete-orphan",
    )


class FollowUpResult(Cited, Base):
    """One figure of a follow-up measure, for one year or a period ("in the 5 years")."""

    __tablename__ = "follow_up_results"

    id: Mapped[int] = Column(Integer, primary_key=True)
    measure_id: Mapped[int] = Column(ForeignKey("follow_up_measures.id", ondelete="CASCADE"), nullable=False)
    value: Mapped[float] = Column(Float, nullable=False)
    unit: Mapped[str] = Column(String(32), nullable=False)
    period: Mapped[str] = Column(String(64), nullable=False)
    position: Mapped[int] = Column(Integer, nullable=False, default=0)

    measure: Mapped[FollowUpMeasure] = relationship(FollowUpMeasure, back_populates="results")


class Guidance(Cited, Base):
    """Monitoring and safety guidance for a medicine, from its label or a regulator."""

    __tablename__ = "guidance"

    id: Mapped[int] = Column(Integer, primary_key=True)
    treatment_id: Mapped[int] = Column(ForeignKey("treatments.id"), nullable=False)
    key: Mapped[str] = Column(String(64), unique=True, nullable=False)
    topic: Mapped[str] = Column(String(64), nullable=False)
    text: Mapped[str] = Column(Text, nullable=False)
    in_caveat: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    short_note: Mapped[str | None] = Column(Text)  # as for SafetyFinding.short_note
    position: Mapped[int] = Column(Integer, nullable=False, default=0)

    treatment: Mapped[Treatment] = relationship(Treatment, back_populates="guidance")


class GlossaryTerm(Cited, Base):
    """A word explained in plain language."""

    __tablename__ = "glossary"

    id: Mapped[int] = Column(Integer, primary_key=True)
    term: Mapped[str] = Column(String(200), unique=True, nullable=False)
    aliases: Mapped[List[str]] = Column(JSON, nullable=False, default=list)
    meaning: Mapped[str] = Column(Text, nullable=False)


class OtherTrial(Base):
    """A trial this assistant has no results for, so that a question about it is recognised."""

    __tablename__ = "other_trials"

    id: Mapped[int] = Column(Integer, primary_key=True)
    name: Mapped[str] = Column(String(200), unique=True, nullable=False)
    aliases: Mapped[List[str]] = Column(JSON, nullable=False, default=list)


class KnowledgeVersion(Base):
    """Which load of the knowledge files the store holds: a new value on every load, so the action
    server keeps what it has read from one answer to the next until the contents change."""

    __tablename__ = "knowledge_version"

    id: Mapped[int] = Column(Integer, primary_key=True)
    version: Mapped[str] = Column(String(32), nullable=False)
    loaded_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False)
