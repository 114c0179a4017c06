"""The registry's one table: an append-only bitemporal log of changes.

Rows are never updated or deleted. ``seq`` orders them (SQLite's rowid, PostgreSQL's
BIGSERIAL); ``valid_from`` and ``recorded_at`` are integer nanoseconds since the epoch, so
instants compare exactly on both backends. The migration in ``migrations/versions`` is
the authority on the live schema; this module mirrors it for queries and for the
migration's autogenerate check.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

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

# The audit log (revision 0002). ``seq`` is assigned by the writer under its lock (the next
# position in the Merkle tree), never by the database, so it is plain BIGINT everywhere.
# ``data`` holds the record's canonical JSON exactly (the bytes that are hashed) and ``leaf``
# its RFC 6962 leaf hash; the other columns are extracted copies, only for queries.
AUDIT_ID_MAX = 200

audit_records = Table(
    "audit_records",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at_ns", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("data", Text, nullable=False),
    Column("leaf", LargeBinary(32), nullable=False),
    Column("entity", String(AUDIT_ID_MAX), nullable=True),
    Column("person", String(AUDIT_ID_MAX), nullable=True),
    Column("model", String(AUDIT_ID_MAX), nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("code", String(64), nullable=True),
    Column("authorization", String(AUDIT_ID_MAX), nullable=True),
    Index("ix_audit_records_at_ns", "at_ns"),
    Index("ix_audit_records_entity", "entity", "at_ns"),
    Index("ix_audit_records_person", "person"),
    Index("ix_audit_records_model", "model"),
    Index("ix_audit_records_code", "code"),
)

audit_heads = Table(
    "audit_heads",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("at_ns", BigInteger, nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("signature", LargeBinary(64), nullable=False),
)

# Gateway usage counters (revision 0004): tokens per scope (``entity:<id>/<authorization>``)
# per UTC day, added to by an atomic upsert.
usage_counters = Table(
    "usage_counters",
    metadata,
    Column("scope", String(400), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("tokens", BigInteger, nullable=False),
)

# Restricted-party list snapshots (revision 0003). A snapshot row is written with all its
# entries in one transaction and never changed; the newest snapshot of a source is live.
# ``data`` is the entry's JSON (``clearance.screening.lists.ListEntry.to_dict``).
screening_snapshots = Table(
    "screening_snapshots",
    metadata,
    Column("id", SEQ_TYPE, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("label", String(500), nullable=False),
    Column("list_date", String(32), nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("imported_at", BigInteger, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("counts", JSON, nullable=False),
    Index("ix_screening_snapshots_source", "source", "id"),
)

screening_entries = Table(
    "screening_entries",
    metadata,
    Column("snapshot_id", BigInteger, primary_key=True, autoincrement=False),
    Column("uid", String(200), primary_key=True),
    Column("data", Text, nullable=False),
)

# Safety evaluation runs (revision 0006). Items are written once, as they are answered;
# a resumed run sends only the indexes that have no row.
eval_runs = Table(
    "eval_runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("suite", String(200), nullable=False),
    Column("suite_hash", String(64), nullable=False),
    Column("items_hash", String(64), nullable=False),
    Column("target", String(500), nullable=False),
    Column("model", String(200), nullable=False),
    Column("judge", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("total", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("config", JSON, nullable=False),
    Column("counters", JSON, nullable=False),
    Column("error", Text, nullable=True),
    Index("ix_eval_runs_created_at", "created_at"),
)

eval_items = Table(
    "eval_items",
    metadata,
    Column("run_id", String(40), primary_key=True),
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("key", String(400), nullable=False),
    Column("category", String(200), nullable=False),
    Column("template", String(200), nullable=True),
    Column("prompt", Text, nullable=False),
    Column("response", Text, nullable=True),
    Column("label", String(20), nullable=True),
    Column("score", Float, nullable=True),
    Column("latency_ms", Float, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("status", String(8), nullable=False),
    Column("error", Text, nullable=True),
    Column("at_ns", BigInteger, nullable=False),
)

# Console sessions (revision 0007): one row per signed-in browser, keyed by the SHA-256 of the
# cookie's id, so every worker and replica behind a load balancer knows the same sessions.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("credential", String(200), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("started_ns", BigInteger, nullable=False),
    Column("seen_ns", BigInteger, nullable=False),
    Column("expires_ns", BigInteger, nullable=False),
    Column("flash", JSON, nullable=False),
    Index("ix_console_sessions_expires_ns", "expires_ns"),
    Index("ix_console_sessions_credential", "credential"),
)
