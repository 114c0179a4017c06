"""Ports: the interfaces services need from the outside world, named in core types only.

The registry keeps what changes every day (organizations, people, keys, licences,
suspensions, screening findings) as a bitemporal log. Every change is a new row carrying
the instant it takes effect (``valid_from``) and the instant it was recorded
(``recorded_at``), so "what was in force at T, as we knew it at R" is always answerable
and history is never overwritten. Instants are integer nanoseconds since the Unix epoch
(UTC), which compare exactly and store as BIGINT on every backend.

Adapters live in ``clearance.store``; services depend on these Protocols only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from .core.errors import ClearanceError

Op = Literal["put", "retire"]
OPS: frozenset[str] = frozenset({"put", "retire"})
KIND_MAX = 32
KEY_MAX = 200
ACTOR_MAX = 200


class ConflictError(ClearanceError):
    """An optimistic write lost the race: the key's latest seq is not what the writer saw.

    ``key`` is the ``(kind, key)`` pair, ``expected`` what the writer passed and ``actual``
    the latest seq found (``None`` when the key has no rows). Nothing was written; the
    writer should re-read and retry.
    """

    def __init__(self, key: tuple[str, str], expected: int | None, actual: int | None) -> None:
        self.key = key
        self.expected = expected
        self.actual = actual
        super().__init__(f"conflict on {key[0]} `{key[1]}`: expected seq {expected}, found {actual}")


class StoreUnavailable(ClearanceError):
    """The store cannot be reached or failed mid-operation; callers must fail closed."""


class StoreRejected(StoreUnavailable):
    """The store refused a value it cannot hold (the driver's ``DataError``, e.g. a NUL in a text column).

    A ``StoreUnavailable`` for callers that only fail closed; a batch writer can tell from it that
    the fault lies with some entry rather than the database, and retry the others without it.
    """


@dataclass(frozen=True, slots=True)
class Change:
    """One change a writer asks the registry to record.

    ``op`` is ``put`` (``body`` is the entity's whole new JSON document) or ``retire``
    (``body`` is ``None`` or a note; the key is absent from state from ``valid_from`` on).
    ``actor`` and ``reason`` say who recorded it and why; they are kept forever.
    """

    kind: str
    key: str
    op: Op
    body: dict[str, Any] | None
    valid_from: int
    actor: str
    reason: str

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"op: `{self.op}` is not one of put, retire")
        if not self.kind or len(self.kind) > KIND_MAX:
            raise ValueError(f"kind: `{self.kind}` must be 1..{KIND_MAX} characters")
        if not self.key or len(self.key) > KEY_MAX:
            raise ValueError(f"key: must be 1..{KEY_MAX} characters (got {len(self.key)})")
        if not self.actor or len(self.actor) > ACTOR_MAX:
            raise ValueError(f"actor: must be 1..{ACTOR_MAX} characters")
        if self.op == "put" and not isinstance(self.body, dict):
            raise ValueError("body: a put needs a JSON object")
        if self.body is not None and not isinstance(self.body, dict):
            raise ValueError("body: must be a JSON object or None")
        if isinstance(self.valid_from, bool) or not isinstance(self.valid_from, int):
            raise ValueError(f"valid_from: `{self.valid_from!r}` is not integer nanoseconds")


@dataclass(frozen=True, slots=True)
class Record:
    """A change as stored: ``seq`` orders all rows (unique, increasing, gaps possible)."""

    seq: int
    kind: str
    key: str
    op: Op
    body: dict[str, Any] | None
    valid_from: int
    recorded_at: int
    actor: str
    reason: str


class Clock(Protocol):
    """Where stores read "now"; injected so tests control ``recorded_at``."""

    def now_ns(self) -> int: ...


@runtime_checkable
class RegistryStore(Protocol):
    """The bitemporal registry log.

    Implementations must give identical answers: the in-memory one for unit tests, the SQL
    one (SQLite, PostgreSQL) for real use. Every method may raise ``StoreUnavailable``.
    """

    def append(
        self, changes: list[Change], expect: dict[tuple[str, str], int | None] | None = None
    ) -> list[Record]:
        """Record ``changes`` atomically, all or nothing, and return them as stored.

        ``expect`` maps ``(kind, key)`` to the latest seq the writer saw (``None``: the key
        must have no rows yet); any mismatch raises ``ConflictError`` and writes nothing.
        ``recorded_at`` is the store clock's now, never earlier than any earlier row's.
        Records are returned only once durable.
        """
        ...

    def state(
        self, valid_at: int, known_at: int | None = None, kind: str | None = None
    ) -> dict[tuple[str, str], Record]:
        """What was in force at ``valid_at`` as recorded by ``known_at`` (None: everything).

        Per ``(kind, key)`` the row with ``valid_from <= valid_at`` and ``recorded_at <=
        known_at`` that has the greatest ``(valid_from, seq)`` wins; keys whose winner is a
        ``retire`` are absent. ``kind`` restricts the answer to one kind.
        """
        ...

    def history(self, kind: str, key: str) -> list[Record]:
        """Every row ever recorded for ``(kind, key)``, in seq order."""
        ...

    def latest_seq(self) -> int:
        """The greatest seq stored, 0 when empty."""
        ...

    def changes_since(self, seq: int) -> list[Record]:
        """Rows with seq greater than ``seq``, in seq order (for followers and events)."""
        ...


# The audit store's types come from the pure audit package; only type checkers need them here.
from typing import TYPE_CHECKING  # noqa: E402

if TYPE_CHECKING:
    from .audit.heads import SignedTreeHead
    from .audit.record import AuditRecord


@runtime_checkable
class AuditStore(Protocol):
    """The tamper-evident audit log's storage: canonical records, their leaf hashes, signed heads.

    ``seq`` is a record's position in the RFC 6962 Merkle tree, so seqs are contiguous from 0
    with no gaps or duplicates, even with several writer processes: ``append_batch`` assigns
    them under the store's single writer lock. Each record is stored as its exact canonical
    bytes (``clearance.audit.record.canonical_bytes``) plus their leaf hash, so a verifier
    re-hashes what is stored rather than a re-encoding. The in-memory and SQL (SQLite,
    PostgreSQL) implementations give identical answers; every method may raise
    ``StoreUnavailable`` (callers fail closed). Records are never updated or deleted.
    """

    def append_batch(self, entries: list[tuple[int, str, dict[str, Any]]]) -> list[AuditRecord]:
        """Append ``(at_ns, kind, body)`` entries in one transaction; return ``AuditRecord``s once durable.

        Seqs are ``size(), size()+1, ...`` in ``entries`` order. A body without a canonical
        form raises ``RecordError`` before anything is written.
        """
        ...

    def size(self) -> int:
        """How many records the log holds (the next seq)."""
        ...

    def records(self, start: int, end: int) -> list[AuditRecord]:
        """``AuditRecord``s with ``start <= seq < end``, in seq order, decoded from the stored bytes."""
        ...

    def raw(self, start: int, end: int) -> list[bytes]:
        """The stored canonical bytes of records ``start <= seq < end``, in seq order (for verification)."""
        ...

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """The stored leaf hashes of records ``start <= seq < end``, in seq order."""
        ...

    def subtree_hash(self, start: int, end: int) -> bytes:
        """Merkle tree hash of leaves [start, end) (``clearance.audit.merkle.SubtreeHashes``), for proofs."""
        ...

    def query(
        self,
        *,
        since_ns: int | None = None,
        until_ns: int | None = None,
        entity: str | None = None,
        person: str | None = None,
        model: str | None = None,
        outcome: str | None = None,
        code: str | None = None,
        kinds: list[str] | set[str] | tuple[str, ...] | None = None,
        entities: set[str] | None = None,
        after_seq: int | None = None,
        limit: int = 1000,
    ) -> list[AuditRecord]:
        """Records matching every given filter, in seq order, at most ``limit``.

        ``since_ns <= at_ns <= until_ns`` (both inclusive); ``after_seq``: only ``seq > after_seq``
        (for paging); ``entities`` restricts to records naming one of those entities (a scoped
        auditor; an empty set matches nothing). A record whose id field is not a string (or is
        longer than 200 characters) is not indexed under it.
        """
        ...

    def put_head(self, sth: SignedTreeHead) -> None:
        """Store a ``SignedTreeHead``. Storing an identical-root head for a stored size again keeps
        the first; a different root for a stored size raises ``ValueError`` (a fork, never hidden)."""
        ...

    def heads(self) -> list[SignedTreeHead]:
        """Every stored ``SignedTreeHead``, by size."""
        ...

    def latest_head(self) -> SignedTreeHead | None:
        """The stored head of the greatest size, ``None`` when none."""
        ...


# -- restricted-party list snapshots (screening) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class ListSnapshotInfo:
    """One imported version of a restricted-party list: what, from where, when, and a content hash.

    ``source`` names the list family (``csl``, ``sdn``); the live snapshot of a source is its
    newest. ``counts`` holds row counts (entries, aliases, per list code, orphan rows).
    """

    id: int
    source: str
    label: str
    list_date: str
    content_sha256: str
    imported_at: int
    actor: str
    reason: str
    counts: dict[str, int]


@runtime_checkable
class ListSnapshotStore(Protocol):
    """Imported list snapshots and their entries; snapshots are never changed or deleted.

    Entries are JSON objects (``clearance.screening.lists.ListEntry.to_dict``) with a ``uid``
    unique within a snapshot. The in-memory and SQL implementations give identical answers;
    every method may raise ``StoreUnavailable`` (callers fail closed).
    """

    def add_snapshot(
        self, source: str, label: str, list_date: str, content_sha256: str, actor: str, reason: str,
        counts: dict[str, int], entries: list[dict[str, Any]],
    ) -> ListSnapshotInfo:
        """Store a snapshot and all its entries in one transaction; it is live once this returns."""
        ...

    def snapshots(self, source: str | None = None) -> list[ListSnapshotInfo]:
        """Every snapshot (of ``source``), oldest first."""
        ...

    def snapshot(self, snapshot_id: int) -> ListSnapshotInfo | None:
        ...

    def live(self) -> dict[str, ListSnapshotInfo]:
        """The newest snapshot of each source."""
        ...

    def entries(self, snapshot_id: int) -> list[dict[str, Any]]:
        """The entries of a snapshot, in uid order; ``KeyError`` if there is no such snapshot."""
        ...
