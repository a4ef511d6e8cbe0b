"""Content reviews: when each knowledge file was last checked, how and by which role, and when it
is next due; every row that states a fact links to the review of the file it was read from, so an
answer can say when its facts were last checked.

Revision ID: 0005
Revises: 0004
Created: 2026-12-02 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The tables whose rows state facts (the `Cited` ones).
TABLES = (
    "treatments",
    "trials",
    "arms",
    "results",
    "comparisons",
    "safety_findings",
    "follow_ups",
    "follow_up_results",
    "guidance",
    "glossary",
)


def upgrade() -> None:
    op.create_table(
        "content_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=100), nullable=False),
        sa.Column("next_review_due", sa.Date(), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("overridden_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_reviews")),
        sa.UniqueConstraint("file", name=op.f("uq_content_reviews_file")),
    )
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("review_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(
                op.f(f"fk_{table}_review_id_content_reviews"),
                "content_reviews",
                ["review_id"],
                ["id"],
                ondelete="SET NULL",
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"fk_{table}_review_id_content_reviews"), type_="foreignkey")
            batch.drop_column("review_id")
    op.drop_table("content_reviews")
