"""Check clearance's signed tree heads and proofs offline, with only the standard library and ``cryptography``.

This file imports nothing from clearance, so an auditor can copy it alone and run it::

    python offline.py keys.json proof.json [record.jsonl-line-file]

``keys.json`` is what ``GET /v1/audit/keys`` answers (key id -> PEM), ``proof.json`` what
``GET /v1/audit/proofs/inclusion`` answers. A head is checked as ``clearance.audit.heads``
signs it (``b"clearance-sth-v1" || size || at_ns || root || key id``, Ed25519); a proof as
RFC 9162 says, with RFC 6962's hashes (leaf: SHA-256(0x00 || line); node: SHA-256(0x01 || l || r)).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

DOMAIN = b"clearance-sth-v1"


class VerificationFailed(ValueError):
    pass


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def leaf_hash(line: bytes) -> bytes:
    """The leaf hash of one record, from its canonical line (as ``export.jsonl`` gives it, without the newline)."""
    return hashlib.sha256(b"\x00" + line.rstrip(b"\r\n")).digest()


def public_keys(published: Mapping[str, str]) -> dict[str, Ed25519PublicKey]:
    """Key id -> key, each id checked against its key (the first 16 hex of SHA-256 of the raw key)."""
    out = {}
    for kid, pem in published.items():
        key = load_pem_public_key(pem.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise VerificationFailed(f"key {kid}: not an Ed25519 key")
        if hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16] != kid:
            raise VerificationFailed(f"key {kid}: its id does not match the key")
        out[kid] = key
    return out


def verify_head(head: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]) -> tuple[int, bytes]:
    """``(size, root)`` of a signed head whose signature holds; ``VerificationFailed`` otherwise."""
    try:
        size, at_ns, kid = int(head["size"]), int(head["at_ns"]), str(head["key_id"])
        root, signature = bytes.fromhex(head["root"]), bytes.fromhex(head["signature"])
    except (KeyError, TypeError, ValueError):
        raise VerificationFailed("head: missing or malformed fields") from None
    if kid not in keys or len(root) != 32 or not 0 <= size < 2**64 or not 0 <= at_ns < 2**64:
        raise VerificationFailed(f"head: unknown key {kid!r} or fields out of range")
    message = DOMAIN + size.to_bytes(8, "big") + at_ns.to_bytes(8, "big") + root + kid.encode("ascii")
    try:
        keys[kid].verify(signature, message)
    except InvalidSignature:
        raise VerificationFailed(f"head of size {size}: the signature does not verify") from None
    return size, root


def root_from_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes | None:
    """The root that ``path`` leads to from ``leaf`` at ``index`` in a tree of ``size`` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion_proof(proof: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey],
                           record_line: bytes | None = None) -> int:
    """The tree size a served inclusion proof is proven in; ``VerificationFailed`` unless head and path hold.

    With ``record_line`` the leaf is hashed from the record itself rather than taken from the proof.
    """
    size, root = verify_head(proof["signed_head"], keys)
    leaf = bytes.fromhex(proof["leaf_hash"])
    if record_line is not None and leaf_hash(record_line) != leaf:
        raise VerificationFailed(f"record {proof['seq']}: its hash is not the proof's leaf")
    if int(proof["tree_size"]) != size:
        raise VerificationFailed("proof: tree size differs from its head's")
    path = [bytes.fromhex(p) for p in proof["audit_path"]]
    if root_from_inclusion(leaf, int(proof["seq"]), size, path) != root:
        raise VerificationFailed(f"record {proof['seq']}: the audit path does not lead to the signed root")
    return size


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (2, 3):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    with open(args[0]) as k, open(args[1]) as p:
        keys, proof = public_keys(json.load(k)), json.load(p)
    line = None
    if len(args) == 3:
        with open(args[2], "rb") as r:
            line = r.read()
    try:
        size = verify_inclusion_proof(proof, keys, line)
    except VerificationFailed as exc:
        print(f"FAILED: {exc}")
        return 1
    print(f"OK: record {proof['seq']} is in the signed log of {size} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
