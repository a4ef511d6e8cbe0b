"""The short safety note: a caveat finding's or guidance row's own words in the one or two
sentences said under a benefit answer (the full text stays behind "The risks in full").

Revision ID: 0003
Revises: 0002
Created: 2026-12-01 23:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("safety_findings", "guidance")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("short_note", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("short_note")
