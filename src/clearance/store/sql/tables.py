"""The registry's one table: an append-only bitemporal log of changes.

Rows are never updated or deleted. ``seq`` orders them (SQLite's rowid, PostgreSQL's
BIGSERIAL); ``valid_from`` and ``recorded_at`` are integer nanoseconds since the epoch, so
instants compare exactly on both backends. The migration in ``migrations/versions`` is
the authority on the live schema; this module mirrors it for queries and for the
migration's autogenerate check.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

# BIGINT on PostgreSQL; on SQLite only "INTEGER PRIMARY KEY" aliases the rowid and autoincrements.
SEQ_TYPE = BigInteger().with_variant(Integer, "sqlite")

registry_changes = Table(
    "registry_changes",
    metadata,
    Column("seq", SEQ_TYPE, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("key", String(200), nullable=False),
    Column("op", String(8), nullable=False),
    Column("body", JSON(none_as_null=True), nullable=True),
    Column("valid_from", BigInteger, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    CheckConstraint("op IN ('put', 'retire')", name="ck_registry_changes_op"),
    Index("ix_registry_changes_entity", "kind", "key", "valid_from", "seq"),
    Index("ix_registry_changes_recorded_at", "recorded_at"),
)
