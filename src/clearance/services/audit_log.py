"""The audit log as a service: durable appends, signed tree heads, proofs, verification.

Appends go through a :class:`~clearance.audit.group_commit.GroupCommitLog`, so
``append`` returns only once the record is durable; callers (the gateway) must
not answer a client before it returns. The service keeps the Merkle frontier of
the stored log in memory (rebuilt once at start-up from the stored leaves) so a
new signed head costs O(new records), not O(log).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from ..audit.checkpoint import Checkpoint, sign_checkpoint, verifier_key
from ..audit.group_commit import GroupCommitLog
from ..audit.heads import SignedTreeHead, sign_head, verify_head
from ..audit.keys import KeyRing
from ..audit.merkle import MerkleTree, consistency_proof, inclusion_proof
from ..audit.record import AuditRecord
from ..audit.verify import VerifyReport, verify_log
from ..ports import AuditStore, Clock

VERIFY_CHUNK = 100_000


class NoSignedHead(LookupError):
    """The log has no signed head to answer with yet."""


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    size: int
    leaf: bytes
    path: list[bytes]
    head: SignedTreeHead

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "tree_size": self.size,
            "leaf_hash": self.leaf.hex(),
            "audit_path": [p.hex() for p in self.path],
            "signed_head": self.head.to_dict(),
        }


class AuditLog:
    def __init__(self, store: AuditStore, keys: KeyRing, clock: Clock, group: GroupCommitLog | None = None,
                 origin: str | None = None) -> None:
        self.store = store
        self.keys = keys
        # The log's name in its checkpoints: stable across key rotations, so it defaults to the first key.
        self.origin = origin or f"clearance.invalid/audit/{keys.key_ids[0]}"
        self.clock = clock
        self.group = group or GroupCommitLog(store)
        self._lock = threading.Lock()
        self._tree = MerkleTree()
        self._catch_up()

    def append(self, kind: str, body: dict[str, Any], at_ns: int | None = None) -> AuditRecord:
        """Append one record and return it once durable; raises if it could not be stored."""
        return self.group.append(kind, body, self.clock.now_ns() if at_ns is None else at_ns)

    def sign_head(self) -> SignedTreeHead:
        """Sign and store a head over everything stored so far; return the head stored for that size.

        Heads are kept one per size: when another writer (a server beside this CLI) stored one
        of the same size first, that is the head returned, so what is printed is what is stored.
        """
        with self._lock:
            self._catch_up()
            head = sign_head(self.keys.active(), self._tree.size, self._tree.root(), self.clock.now_ns())
            self.store.put_head(head)
            stored = self.store.latest_head()
            return stored if stored is not None and stored.size == head.size else head

    def latest_head(self) -> SignedTreeHead:
        """The newest stored head (it may lag the log by one signing interval); a read, never a write.

        Raises ``NoSignedHead`` when none has been signed yet.
        """
        head = self.store.latest_head()
        if head is None:
            raise NoSignedHead("no signed tree head yet: the writer signs one at start-up, on its schedule and at a clean stop")
        return head

    def sign_if_grown(self) -> SignedTreeHead:
        """The writer's schedule: sign a head when the log has grown past the newest one (else return that one)."""
        head = self.store.latest_head()
        if head is None or head.size < self.store.size():
            head = self.sign_head()
        return head

    def checkpoint(self) -> str:
        """The latest signed head as a C2SP checkpoint, signed by the key that signed the head; a read.

        Ed25519 is deterministic, so the same head always gives the same bytes. Raises
        ``NoSignedHead`` when none has been signed yet.
        """
        head = self.latest_head()
        return sign_checkpoint(Checkpoint(self.origin, head.size, head.root), self.keys.signing_key(head.head.key_id))

    def verifier_keys(self) -> list[str]:
        """Every key's verifier key for the checkpoints (retired keys too, oldest first)."""
        return [verifier_key(self.origin, key) for key in self.keys.public_keys().values()]

    def inclusion(self, seq: int, size: int | None = None) -> InclusionProof:
        """The audit path of record ``seq`` in the tree of a signed head (default: the latest)."""
        head = self._head_of(size)
        if not 0 <= seq < head.size:
            raise ValueError(f"seq {seq} is not in a tree of size {head.size}")
        path = inclusion_proof(self.store, seq, head.size)
        return InclusionProof(seq, head.size, self.store.leaf_hashes(seq, seq + 1)[0], path, head)

    def consistency(self, first: int, second: int | None = None) -> dict[str, Any]:
        """Proof that the tree of size ``first`` is a prefix of the tree of a signed head."""
        heads = {h.size: h for h in self.store.heads()}
        old = heads.get(first)
        new = self._head_of(second)
        if old is None:
            raise ValueError(f"no signed head of size {first}")
        if first > new.size:
            raise ValueError(f"size {first} is larger than {new.size}")
        proof = consistency_proof(self.store, first, new.size)
        return {"first": old.to_dict(), "second": new.to_dict(), "proof": [p.hex() for p in proof]}

    def verify(self) -> VerifyReport:
        """Recompute the whole stored log against every signed head, with the published keys."""
        size = self.store.size()
        raw: list[bytes] = []
        leaves: list[bytes] = []
        for start in range(0, size, VERIFY_CHUNK):
            raw.extend(self.store.raw(start, min(size, start + VERIFY_CHUNK)))
            leaves.extend(self.store.leaf_hashes(start, min(size, start + VERIFY_CHUNK)))
        # The stored leaf column is trusted only as far as the signed heads confirm it; then it
        # pins an edited record exactly instead of to the span between two heads.
        return verify_log(raw, self.store.heads(), self.keys.public_keys(), leaf_hashes=leaves)

    def close(self) -> None:
        """Write what is pending, then release the store's connections."""
        self.group.close()
        close = getattr(self.store, "close", None)
        if close is not None:
            close()

    def _head_of(self, size: int | None) -> SignedTreeHead:
        if size is None:
            return self.latest_head()
        for head in self.store.heads():
            if head.size == size:
                verify_head(head, self.keys.public_keys())
                return head
        raise ValueError(f"no signed head of size {size}")

    def _catch_up(self) -> None:
        size = self.store.size()
        if size > self._tree.size:
            self._tree.extend(self.store.leaf_hashes(self._tree.size, size))
