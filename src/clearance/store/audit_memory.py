"""An in-memory ``AuditStore`` with exactly the SQL store's semantics, and the parts both share.

The memory store exists so services and the API can be unit-tested fast; the shared audit
store tests run against it, SQLite and PostgreSQL, which keeps the three in agreement. It
keeps rows as a database would (canonical text, leaf hash, extracted query columns) and
decodes records from the stored text, so nothing a caller holds can change stored history.

Shared with ``clearance.store.sql.audit`` (one definition, so the backends cannot drift):

- ``prepare``/``Prepared``: a body is encoded canonically *before* the writer lock is taken
  (the expensive part, and where a body without a canonical form is rejected, so a bad
  entry never aborts a transaction half way); under the lock only the seq is spliced in.
- ``query_columns``: which body fields are copied into the indexed query columns.
- ``SubtreeCache``: Merkle subtree hashes over stored leaves, for proof generation.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from ..audit.errors import RecordError
from ..audit.heads import SignedTreeHead
from ..audit.merkle import root
from ..audit.record import AuditRecord, canonical_bytes, node_hash

INT64_MAX = 2**63 - 1
ID_MAX = 200
COLUMN_MAX = {"entity": ID_MAX, "person": ID_MAX, "model": ID_MAX, "outcome": 32, "code": 64,
              "authorization": ID_MAX}
QUERY_COLUMNS = tuple(COLUMN_MAX)
# canonical_bytes ends every record with these bytes, seq being the only field after the body.
_TAIL0 = b',"seq":0,"v":1}'


_NOTHING: dict[str, Any] = {}


def _fits(value: Any, limit: int) -> str | None:
    """``value`` when it can sit in a column of ``limit`` characters (a string that fits), else ``None``:
    never truncated, since a truncated id could match a query for another id. A NUL cannot be
    stored in a PostgreSQL text column at all, and one such value would fail its whole
    group-commit batch; the record itself keeps it (escaped as ``\\u0000`` in the canonical
    JSON), only the index copy is left out, and queries for values with a NUL are refused
    before they get here."""
    if isinstance(value, str) and len(value) <= limit and "\x00" not in value:
        return value
    return None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else _NOTHING


def query_columns(kind: str, body: dict[str, Any]) -> dict[str, str | None]:
    """The indexed copies of a record's fields.

    A decision body is ``{"request": {...}, "decision": {...}, ...}`` (the decision contract):
    entity, model and person id come from the request, outcome, code and authorization from
    the decision. Other kinds may name ``entity``, ``person`` and ``model`` at the top level.
    """
    # Written out rather than looped over QUERY_COLUMNS: it runs once per record on the write path.
    top = _object(body)
    if kind == "decision":
        request, decision = _object(top.get("request")), _object(top.get("decision"))
        return {"entity": _fits(request.get("entity"), ID_MAX),
                "person": _fits(_object(request.get("person")).get("id"), ID_MAX),
                "model": _fits(request.get("model"), ID_MAX), "outcome": _fits(decision.get("outcome"), 32),
                "code": _fits(decision.get("code"), 64), "authorization": _fits(decision.get("authorization"), ID_MAX)}
    person = top.get("person")
    return {"entity": _fits(top.get("entity"), ID_MAX),
            "person": _fits(person.get("id") if isinstance(person, dict) else person, ID_MAX),
            "model": _fits(top.get("model"), ID_MAX), "outcome": None, "code": None, "authorization": None}


@dataclass(slots=True)  # not frozen: a frozen __init__ costs a microsecond per record
class Prepared:
    """An entry encoded canonically for every seq at once: ``prefix + b"<seq>,\\"v\\":1}"``."""

    at_ns: int
    kind: str
    body: dict[str, Any]
    prefix: bytes
    columns: dict[str, str | None]


def stamp(prepared: list[Prepared], start: int) -> tuple[list[AuditRecord], list[bytes], list[bytes]]:
    """The records of ``prepared`` at seqs ``start``, ``start + 1``, ..., their canonical bytes and
    leaf hashes, each list made in one comprehension (the writer runs this under its lock)."""
    datas = [entry.prefix + b'%d,"v":1}' % seq for seq, entry in enumerate(prepared, start)]
    leaves = [sha256(b"\x00" + data).digest() for data in datas]  # ``leaf_hash`` inlined: no call per record
    records = [AuditRecord(seq, entry.at_ns, entry.kind, entry.body) for seq, entry in enumerate(prepared, start)]
    return records, datas, leaves


def prepare(entries: Iterable[tuple[int, str, dict[str, Any]] | Prepared]) -> list[Prepared]:
    """Validate and encode ``(at_ns, kind, body)`` entries; raises ``RecordError`` on the first bad one.

    Entries already prepared (group commit encodes on the appender's thread, see
    ``GroupCommitLog``) are passed through.
    """
    prepared = []
    for entry in entries:
        if type(entry) is Prepared:
            prepared.append(entry)
            continue
        at_ns, kind, body = entry  # type: ignore[misc]
        if type(at_ns) is int and at_ns > INT64_MAX:
            # The record format has no bound, the stores' BIGINT column has: refused before the transaction.
            raise RecordError("at_ns", "must be below 2^63 to be stored", at_ns)
        data = canonical_bytes(AuditRecord(0, at_ns, kind, body))
        if not data.endswith(_TAIL0):  # cannot happen while seq and v are the last keys
            raise AssertionError("canonical record layout changed: seq is no longer the last field but v")
        prefix = data[: -len(_TAIL0)] + b',"seq":'
        prepared.append(Prepared(at_ns, kind, body, prefix, query_columns(kind, body)))
    return prepared


def decode(data: str | bytes) -> AuditRecord:
    """The record a stored canonical line holds (fields read from the line itself)."""
    obj = json.loads(data)
    return AuditRecord(obj["seq"], obj["at_ns"], obj["kind"], obj["body"])


class SubtreeCache:
    """Merkle tree hashes of leaf ranges, read through ``leaves(start, end)``, for proofs.

    Proof generation asks for O(log n) ranges whose sizes sum to about n, so recomputing each
    from the stored leaves costs O(n) reads per proof. Perfect, aligned subtrees of at least
    ``CHUNK`` leaves are immutable once written (the log is append-only), so their hashes are
    kept (bounded): the first proof reads the tree once, later ones read only new leaves.
    A row tampered with after its subtree was cached is not seen by proofs generated here;
    ``verify_log`` over ``raw`` is what detects tampering, and it never uses this cache.
    """

    CHUNK = 1024
    MAX_ENTRIES = 1 << 20

    CHUNKS_KEPT = 64  # leaves of whole chunks kept for small ranges: 64 x 1024 x 32 bytes = 2 MiB

    def __init__(self, leaves: Callable[[int, int], list[bytes]]) -> None:
        self._leaves = leaves
        self._cache: dict[tuple[int, int], bytes] = {}
        self._chunks: OrderedDict[int, list[bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def _small(self, start: int, end: int) -> list[bytes]:
        """Leaves of a range within one chunk: from a kept whole chunk when there is one (a whole
        chunk never changes), else read; the last, growing chunk is always read."""
        chunk = start // self.CHUNK
        if chunk == (end - 1) // self.CHUNK:
            with self._lock:
                kept = self._chunks.get(chunk)
                if kept is not None:
                    self._chunks.move_to_end(chunk)
            if kept is None:
                read = self._leaves(chunk * self.CHUNK, (chunk + 1) * self.CHUNK)
                if len(read) == self.CHUNK:
                    kept = read
                    with self._lock:
                        self._chunks[chunk] = read
                        while len(self._chunks) > self.CHUNKS_KEPT:
                            self._chunks.popitem(last=False)
            if kept is not None:
                offset = chunk * self.CHUNK
                return kept[start - offset:end - offset]
        return self._leaves(start, end)

    def subtree_hash(self, start: int, end: int) -> bytes:
        if not 0 <= start < end:
            raise IndexError(f"range [{start}, {end}) is not a non-empty leaf range")
        return self._hash(start, end)

    def _hash(self, start: int, end: int) -> bytes:
        width = end - start
        if width <= self.CHUNK:
            leaves = self._small(start, end)
            if len(leaves) != width:
                raise IndexError(f"range [{start}, {end}): the store holds {len(leaves)} of its {width} leaves")
            return root(leaves)
        perfect = width & (width - 1) == 0 and start % width == 0
        if perfect:
            with self._lock:
                cached = self._cache.get((start, end))
            if cached is not None:
                return cached
        k = 1 << ((width - 1).bit_length() - 1)
        value = node_hash(self._hash(start, start + k), self._hash(start + k, end))
        if perfect:
            with self._lock:
                if len(self._cache) >= self.MAX_ENTRIES:
                    self._cache.clear()
                self._cache[(start, end)] = value
        return value


@dataclass(frozen=True, slots=True)
class _Row:
    seq: int
    at_ns: int
    kind: str
    data: str
    leaf: bytes
    columns: dict[str, str | None]


class MemoryAuditStore:
    """An ``AuditStore`` held in lists; thread-safe; lost when the process ends."""

    def __init__(self) -> None:
        self._rows: list[_Row] = []
        self._heads: dict[int, SignedTreeHead] = {}
        self._lock = threading.Lock()
        self._subtrees = SubtreeCache(self.leaf_hashes)

    prepare = staticmethod(prepare)  # what group commit runs on the appender's thread

    def append_batch(self, entries: list[tuple[int, str, dict[str, Any]]]) -> list[AuditRecord]:
        """See ``AuditStore.append_batch``."""
        prepared = prepare(entries)
        with self._lock:
            out, datas, leaves = stamp(prepared, len(self._rows))
            self._rows.extend(_Row(record.seq, record.at_ns, record.kind, data.decode("utf-8"), leaf, entry.columns)
                              for record, data, leaf, entry in zip(out, datas, leaves, prepared, strict=True))
        return out

    def size(self) -> int:
        return len(self._rows)

    def _slice(self, start: int, end: int) -> list[_Row]:
        with self._lock:
            return self._rows[max(start, 0):max(end, 0)]

    def records(self, start: int, end: int) -> list[AuditRecord]:
        return [decode(row.data) for row in self._slice(start, end)]

    def raw(self, start: int, end: int) -> list[bytes]:
        return [row.data.encode("utf-8") for row in self._slice(start, end)]

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        return [row.leaf for row in self._slice(start, end)]

    def subtree_hash(self, start: int, end: int) -> bytes:
        return self._subtrees.subtree_hash(start, end)

    def query(
        self, *, since_ns: int | None = None, until_ns: int | None = None, entity: str | None = None,
        person: str | None = None, model: str | None = None, outcome: str | None = None, code: str | None = None,
        kinds: Iterable[str] | None = None, entities: set[str] | None = None, after_seq: int | None = None,
        limit: int = 1000,
    ) -> list[AuditRecord]:
        """See ``AuditStore.query``."""
        if (entities is not None and not entities) or limit <= 0:
            return []
        wanted = {"entity": entity, "person": person, "model": model, "outcome": outcome, "code": code}
        wanted = {column: value for column, value in wanted.items() if value is not None}
        kind_set = set(kinds) if kinds is not None else None
        with self._lock:
            rows = self._rows[max(after_seq + 1, 0):] if after_seq is not None else list(self._rows)
        out = []
        for row in rows:
            if since_ns is not None and row.at_ns < since_ns:
                continue
            if until_ns is not None and row.at_ns > until_ns:
                continue
            if kind_set is not None and row.kind not in kind_set:
                continue
            if entities is not None and row.columns["entity"] not in entities:
                continue
            if any(row.columns[column] != value for column, value in wanted.items()):
                continue
            out.append(decode(row.data))
            if len(out) >= limit:
                break
        return out

    def put_head(self, sth: SignedTreeHead) -> None:
        """See ``AuditStore.put_head``."""
        with self._lock:
            existing = self._heads.get(sth.size)
            if existing is not None:
                if existing.root != sth.root:
                    raise ValueError(f"a head of size {sth.size} with another root is already stored")
                return
            self._heads[sth.size] = sth

    def heads(self) -> list[SignedTreeHead]:
        with self._lock:
            return [self._heads[size] for size in sorted(self._heads)]

    def latest_head(self) -> SignedTreeHead | None:
        with self._lock:
            return self._heads[max(self._heads)] if self._heads else None
