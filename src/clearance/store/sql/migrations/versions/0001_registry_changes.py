"""The registry log: one append-only table of bitemporal changes.

Revision ID: 0001
Revises:
Create Date: 2026-07-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_changes",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("body", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("valid_from", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint("op IN ('put', 'retire')", name="ck_registry_changes_op"),
    )
    op.create_index("ix_registry_changes_entity", "registry_changes", ["kind", "key", "valid_from", "seq"])
    op.create_index("ix_registry_changes_recorded_at", "registry_changes", ["recorded_at"])


def downgrade() -> None:
    op.drop_index("ix_registry_changes_recorded_at", table_name="registry_changes")
    op.drop_index("ix_registry_changes_entity", table_name="registry_changes")
    op.drop_table("registry_changes")
