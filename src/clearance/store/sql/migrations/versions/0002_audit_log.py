"""The audit log: canonical records with their leaf hashes, and signed tree heads.

``audit_records.seq`` is the record's position in the Merkle tree, assigned by the writer
under its lock, so it is a plain BIGINT key (no autoincrement: a gap would break the tree).
``data`` keeps the exact canonical JSON that was hashed; the entity/person/model/outcome/
code/authorization columns are extracted copies that exist only to make queries indexable.

Revision ID: 0002
Revises: 0001
Create Date: 2026-07-02
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
        "audit_records",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("at_ns", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("leaf", sa.LargeBinary(32), nullable=False),
        sa.Column("entity", sa.String(200), nullable=True),
        sa.Column("person", sa.String(200), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("authorization", sa.String(200), nullable=True),
    )
    op.create_index("ix_audit_records_at_ns", "audit_records", ["at_ns"])
    op.create_index("ix_audit_records_entity", "audit_records", ["entity", "at_ns"])
    op.create_index("ix_audit_records_person", "audit_records", ["person"])
    op.create_index("ix_audit_records_model", "audit_records", ["model"])
    op.create_index("ix_audit_records_code", "audit_records", ["code"])
    op.create_table(
        "audit_heads",
        sa.Column("size", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("at_ns", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("signature", sa.LargeBinary(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_heads")
    for name in ("code", "model", "person", "entity", "at_ns"):
        op.drop_index(f"ix_audit_records_{name}", table_name="audit_records")
    op.drop_table("audit_records")
