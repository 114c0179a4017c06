"""The tamper-evident audit log, pure parts: records, the Merkle tree, signed heads, keys, the verifier.

Records are encoded canonically and hashed into an RFC 6962/9162 Merkle tree; signed tree
heads commit to a tree size and root; anyone holding the exported records, the heads and
the published public keys can check that nothing was edited, removed, reordered or cut off.
Only ``keys`` touches the disk; nothing here reads a clock: instants are arguments.
"""

from clearance.audit.errors import AuditError, HeadError, KeyRingError, RecordError
from clearance.audit.heads import SignedTreeHead, TreeHead, key_id, sign_head, verify_head
from clearance.audit.keys import KeyRing, load_public_keys
from clearance.audit.merkle import (
    EMPTY_ROOT,
    ListLeaves,
    MerkleTree,
    SubtreeHashes,
    consistency_proof,
    inclusion_proof,
    root,
    verify_consistency,
    verify_inclusion,
)
from clearance.audit.record import (
    FORMAT_VERSION,
    KINDS,
    AuditRecord,
    canonical_bytes,
    leaf_hash,
    node_hash,
    parse_record,
)

__all__ = [
    "EMPTY_ROOT", "FORMAT_VERSION", "KINDS", "AuditError", "AuditRecord", "HeadError", "KeyRing", "KeyRingError",
    "ListLeaves", "MerkleTree", "RecordError", "SignedTreeHead", "SubtreeHashes", "TreeHead", "VerifyReport",
    "canonical_bytes", "consistency_proof", "export_jsonl", "inclusion_proof", "key_id", "leaf_hash",
    "load_public_keys", "node_hash", "parse_record", "read_heads", "read_jsonl", "root", "sign_head",
    "verify_consistency", "verify_head", "verify_inclusion", "verify_log",
]


_VERIFY = frozenset(("VerifyReport", "export_jsonl", "read_heads", "read_jsonl", "verify_log"))


def __getattr__(name: str):
    """Import ``verify`` on first use, so ``python -m clearance.audit.verify`` runs it only once."""
    if name in _VERIFY:
        from clearance.audit import verify

        return getattr(verify, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
