"""Signed tree heads: a log's size and root, at an instant, signed with Ed25519.

A head is what the log operator stands behind: "at ``at_ns`` my log held ``size`` records
whose Merkle root is ``root``". The signature covers a fixed-layout, domain-separated
encoding (``signing_bytes``) so that it cannot be replayed as any other signed message:

    b"clearance-sth-v1" || size (8 bytes, big-endian) || at_ns (8 bytes, big-endian)
                        || root (32 bytes) || key_id (16 ASCII hex characters)

``key_id`` names the signing key: the first 16 hex characters of SHA-256 over the raw
32-byte Ed25519 public key. Signing the key id too means a head cannot be re-attributed to
another key. Keys are ``cryptography`` objects; this module never touches the disk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from clearance.audit.errors import HeadError

DOMAIN = b"clearance-sth-v1"
HEAD_FORMAT_VERSION = 1
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_U64 = 1 << 64


def key_id(public_key: Ed25519PublicKey) -> str:
    """The key id of ``public_key``: first 16 hex characters of SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return sha256(raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class TreeHead:
    """The claim a head makes: ``size`` records with Merkle root ``root`` at ``at_ns``, by ``key_id``.

    Raises ``HeadError`` (``malformed-head``) when a field is out of range.
    """

    size: int
    root: bytes
    at_ns: int
    key_id: str

    def __post_init__(self) -> None:
        if type(self.size) is not int or not 0 <= self.size < _U64:
            raise HeadError(f"size: must be an integer in [0, 2**64), got {self.size!r}", "malformed-head")
        if type(self.at_ns) is not int or not 0 <= self.at_ns < _U64:
            raise HeadError(f"at_ns: must be an integer in [0, 2**64), got {self.at_ns!r}", "malformed-head")
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            raise HeadError("root: must be 32 bytes", "malformed-head")
        if not isinstance(self.key_id, str) or not _KEY_ID.fullmatch(self.key_id):
            raise HeadError(f"key_id: must be 16 lowercase hex characters, got {self.key_id!r}", "malformed-head")

    def signing_bytes(self) -> bytes:
        """The exact bytes the signature covers (layout in the module docstring)."""
        return b"".join((
            DOMAIN,
            self.size.to_bytes(8, "big"),
            self.at_ns.to_bytes(8, "big"),
            self.root,
            self.key_id.encode("ascii"),
        ))


@dataclass(frozen=True, slots=True)
class SignedTreeHead:
    """A ``TreeHead`` and the 64-byte Ed25519 signature over its ``signing_bytes``."""

    head: TreeHead
    signature: bytes

    @property
    def size(self) -> int:
        return self.head.size

    @property
    def root(self) -> bytes:
        return self.head.root

    def to_dict(self) -> dict[str, Any]:
        """JSON form: hex root and signature, plus the format version ``v``."""
        h = self.head
        return {"at_ns": h.at_ns, "key_id": h.key_id, "root": h.root.hex(), "signature": self.signature.hex(),
                "size": h.size, "v": HEAD_FORMAT_VERSION}

    def to_json(self) -> bytes:
        """Canonical JSON line (sorted keys, no whitespace), without the newline."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode("ascii")

    @classmethod
    def from_dict(cls, obj: Any) -> SignedTreeHead:
        """Inverse of ``to_dict``; raises ``HeadError`` (``malformed-head``) on anything else."""
        expected = {"at_ns", "key_id", "root", "signature", "size", "v"}
        if not isinstance(obj, dict) or obj.keys() != expected:
            got = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
            raise HeadError(f"expected the keys {sorted(expected)}, got {got}", "malformed-head")
        if obj["v"] != HEAD_FORMAT_VERSION:
            raise HeadError(f"v: unsupported head format {obj['v']!r}", "malformed-head")
        try:
            root, signature = bytes.fromhex(obj["root"]), bytes.fromhex(obj["signature"])
        except (TypeError, ValueError):
            raise HeadError("root and signature must be hex strings", "malformed-head") from None
        head = TreeHead(size=obj["size"], root=root, at_ns=obj["at_ns"], key_id=obj["key_id"])
        return cls(head, signature)

    @classmethod
    def from_json(cls, line: bytes | str) -> SignedTreeHead:
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise HeadError(f"not JSON: {exc}", "malformed-head") from None
        return cls.from_dict(obj)


def sign_head(private_key: Ed25519PrivateKey, size: int, root: bytes, at_ns: int) -> SignedTreeHead:
    """Sign the head (``size``, ``root``, ``at_ns``) with ``private_key``; ``at_ns`` is supplied by the caller."""
    head = TreeHead(size=size, root=root, at_ns=at_ns, key_id=key_id(private_key.public_key()))
    return SignedTreeHead(head, private_key.sign(head.signing_bytes()))


def verify_head(sth: SignedTreeHead, public_keys: Mapping[str, Ed25519PublicKey]) -> None:
    """Check ``sth``'s signature with the public key its ``key_id`` names; return None if it holds.

    ``public_keys`` maps key ids to keys (retired keys included, so old heads stay verifiable).
    Raises ``HeadError`` with code ``unknown-key`` when no key has that id (or the key filed under
    it has another id) and ``bad-signature`` when the signature does not verify.
    """
    kid = sth.head.key_id
    public_key = public_keys.get(kid)
    if public_key is None or key_id(public_key) != kid:
        raise HeadError(f"head of size {sth.head.size}: no published public key has id {kid!r}", "unknown-key")
    try:
        public_key.verify(sth.signature, sth.head.signing_bytes())
    except InvalidSignature:
        raise HeadError(f"head of size {sth.head.size}: signature does not verify with key {kid!r}",
                        "bad-signature") from None
