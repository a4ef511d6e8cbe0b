"""Follow-up studies: what happened after a trial to one of its groups (an extension study), with
its measures and their results by year or period, each result linked to its sources. A follow-up
has one group and no comparison rows; it is kept apart from the trial's own endpoints.

Revision ID: 0002
Revises: 0001
Created: 2026-12-01 19:21:21.713667
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("arm_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("registration", sa.String(length=64), nullable=True),
        sa.Column("design", sa.Text(), nullable=False),
        sa.Column("who_is_counted", sa.Text(), nullable=False),
        sa.Column("extra_treatment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["arm_id"], ["arms.id"], name=op.f("fk_follow_ups_arm_id_arms")),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_follow_ups_trial_id_trials"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
        sa.UniqueConstraint("key", name=op.f("uq_follow_ups_key")),
    )
    op.create_table(
        "follow_up_measures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("follow_up_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("outcome_phrase", sa.Text(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["follow_up_id"],
            ["follow_ups.id"],
            name=op.f("fk_follow_up_measures_follow_up_id_follow_ups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_measures")),
        sa.UniqueConstraint("follow_up_id", "key", name=op.f("uq_follow_up_measures_follow_up_id_key")),
    )
    op.create_table(
        "follow_ups_sources",
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["row_id"],
            ["follow_ups.id"],
            name=op.f("fk_follow_ups_sources_row_id_follow_ups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_follow_ups_sources_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("row_id", "source_id", name=op.f("pk_follow_ups_sources")),
    )
    op.create_table(
        "follow_up_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["follow_up_measures.id"],
            name=op.f("fk_follow_up_results_measure_id_follow_up_measures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_results")),
    )
    op.create_table(
        "follow_up_results_sources",
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["row_id"],
            ["follow_up_results.id"],
            name=op.f("fk_follow_up_results_sources_row_id_follow_up_results"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_follow_up_results_sources_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("row_id", "source_id", name=op.f("pk_follow_up_results_sources")),
    )


def downgrade() -> None:
    op.drop_table("follow_up_results_sources")
    op.drop_table("follow_up_results")
    op.drop_table("follow_ups_sources")
    op.drop_table("follow_up_measures")
    op.drop_table("follow_ups")
