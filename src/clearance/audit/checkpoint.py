"""Tree heads as C2SP signed notes: ``tlog-checkpoint`` bodies signed per ``signed-note`` with Ed25519.

Off-the-shelf transparency-log tooling (the Go ``sumdb/note`` package, witnesses,
``litetlog``-style verifiers) reads this form, so an authority can check clearance's heads with
tools nobody here wrote. The log's Merkle tree is RFC 6962's, as a checkpoint assumes.

A checkpoint body is three lines and a newline each::

    <origin>
    <tree size, decimal>
    <root hash, standard base64>

and a signed note is the body, a blank line, and one line per signature,
``— <key name> <base64(key hash (4 bytes) || Ed25519 signature over the body)>``. The key hash
is the first four bytes of SHA-256(name || "\\n" || 0x01 || public key), 0x01 naming Ed25519;
a verifier key is written ``<name>+<key hash, hex>+<base64(0x01 || public key)>``.

Witnesses co-sign checkpoints per C2SP ``tlog-cosignature`` (``cosignature/v1``, algorithm
byte 0x04): the signature line's blob is key hash || timestamp (8 bytes, big-endian) ||
Ed25519 signature over ``"cosignature/v1\ntime <timestamp>\n" || body``. ``cosign`` makes
one, and a verifier key of type 0x04 checks one, so a client can require a quorum of
witnesses (``verify_checkpoint(..., witnesses=…, quorum=…)``).

The same Ed25519 keys sign clearance's own heads (``heads.py``); the two messages cannot be
confused: a note's text is printable UTF-8, and a clearance head's bytes start with its domain
and carry the size as 8 raw bytes, which contain control bytes for any size below 2**56.

Only the standard library and ``cryptography``: an auditor can run this file alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
EM_DASH = "\u2014"
MAX_SIGNATURES = 100


class NoteError(ValueError):
    """A note, key or checkpoint is malformed, or no trusted signature on it verifies."""


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_hash(name: str, public_key: Ed25519PublicKey, alg: int = ED25519) -> bytes:
    """The 4-byte hash identifying a key under ``name`` in signature lines (``alg``: 0x01 notes, 0x04 cosignatures)."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + _raw(public_key)).digest()[:4]


def _check_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name) or any(ord(c) < 0x20 for c in name):
        raise NoteError(f"key name {name!r}: must be non-empty, without '+', spaces or control characters")


def verifier_key(name: str, public_key: Ed25519PublicKey, alg: int = ED25519) -> str:
    """The published form of a verifier key: ``<name>+<hash hex>+<base64(alg || key)>``."""
    _check_name(name)
    material = base64.b64encode(bytes([alg]) + _raw(public_key)).decode()
    return f"{name}+{key_hash(name, public_key, alg).hex()}+{material}"


@dataclass(frozen=True)
class Verifier:
    name: str
    hash: bytes
    public_key: Ed25519PublicKey
    alg: int = ED25519  # 0x04: a witness's cosignature key


def parse_verifier_key(text: str) -> Verifier:
    """A verifier key read back; raises ``NoteError`` unless name, hash and key agree."""
    name, plus, rest = text.partition("+")
    hash_hex, plus2, material = rest.partition("+")
    if not plus or not plus2:
        raise NoteError("verifier key: expected <name>+<hash>+<key>")
    _check_name(name)
    try:
        declared = bytes.fromhex(hash_hex)
        key = base64.b64decode(material, validate=True)
    except (ValueError, binascii.Error):
        raise NoteError("verifier key: the hash must be hex and the key base64") from None
    if len(declared) != 4 or len(hash_hex) != 8 or len(key) != 33 or key[0] not in (ED25519, COSIGNATURE_V1):
        raise NoteError("verifier key: not an Ed25519 or cosignature/v1 key with a 4-byte hash")
    public_key = Ed25519PublicKey.from_public_bytes(key[1:])
    if key_hash(name, public_key, key[0]) != declared:
        raise NoteError(f"verifier key {name}: the hash does not match the key")
    return Verifier(name, declared, public_key, key[0])


def signer_from_key(text: str) -> tuple[str, Ed25519PrivateKey]:
    """``PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>`` read back, as the Go package writes signer keys."""
    parts = text.split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise NoteError("signer key: expected PRIVATE+KEY+<name>+<hash>+<key>")
    name, hash_hex, material = parts[2:]
    try:
        seed = base64.b64decode(material, validate=True)
    except binascii.Error:
        raise NoteError("signer key: the key must be base64") from None
    if len(seed) != 33 or seed[0] != ED25519:
        raise NoteError("signer key: not an Ed25519 seed")
    private_key = Ed25519PrivateKey.from_private_bytes(seed[1:])
    if key_hash(name, private_key.public_key()).hex() != hash_hex:
        raise NoteError(f"signer key {name}: the hash does not match the key")
    return name, private_key


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text: must end with a newline")
    if any((ord(c) < 0x20 and c != "\n") or c == "\x7f" for c in text):
        raise NoteError("note text: control characters other than newline are not allowed")


def _cosigned(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode()


def cosign(note: str, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> str:
    """``note`` (a signed checkpoint) with a witness's ``cosignature/v1`` line added, made at ``timestamp`` (POSIX s)."""
    _check_name(name)
    if not 0 <= timestamp < 2**63:
        raise NoteError("cosignature: the timestamp must be in [0, 2**63)")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("cosignature: not a signed note")
    body = note[:split + 1]
    _check_text(body)
    Checkpoint.parse(body)
    blob = key_hash(name, private_key.public_key(), COSIGNATURE_V1) + timestamp.to_bytes(8, "big") \
        + private_key.sign(_cosigned(body, timestamp))
    return note + f"{EM_DASH} {name} {base64.b64encode(blob).decode()}\n"


def sign_note(text: str, signers: Iterable[tuple[str, Ed25519PrivateKey]]) -> str:
    """``text`` with a signature line from each ``(name, key)``."""
    _check_text(text)
    lines = []
    for name, private_key in signers:
        _check_name(name)
        signature = private_key.sign(text.encode())
        blob = base64.b64encode(key_hash(name, private_key.public_key()) + signature).decode()
        lines.append(f"{EM_DASH} {name} {blob}\n")
    if not lines:
        raise NoteError("a signed note needs at least one signature")
    return text + "\n" + "".join(lines)


def open_note(note: str, verifiers: Iterable[Verifier]) -> tuple[str, list[str]]:
    """The note's text and the names whose signatures verified; ``NoteError`` if none did.

    Signatures by keys not given are skipped, as the specification asks; one that names a
    given key and does not verify fails the whole note.
    """
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise NoteError("note: no blank line before the signatures, or no final newline")
    text, block = note[:split + 1], note[split + 2:]
    _check_text(text)
    known = {(v.name, v.hash): v for v in verifiers}
    verified: list[str] = []
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note: more than {MAX_SIGNATURES} signatures")
    for line in lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH or not parts[1]:
            raise NoteError(f"note: malformed signature line {line!r}")
        _, name, blob = parts
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error:
            raise NoteError(f"note: signature of {name} is not base64") from None
        if len(raw) < 5:
            raise NoteError(f"note: signature of {name} is too short")
        verifier = known.get((name, raw[:4]))
        if verifier is None:
            continue
        signature, message = raw[4:], text.encode()
        if verifier.alg == COSIGNATURE_V1:
            if len(raw) != 4 + 8 + 64 or raw[4] & 0x80:
                raise NoteError(f"note: the cosignature of {name} is malformed")
            signature, message = raw[12:], _cosigned(text, int.from_bytes(raw[4:12], "big"))
        try:
            verifier.public_key.verify(signature, message)
        except InvalidSignature:
            raise NoteError(f"note: the signature of {name} does not verify") from None
        verified.append(name)
    if not verified:
        raise NoteError("note: no signature by a trusted key")
    return text, verified


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        if not self.origin or "\n" in self.origin:
            raise NoteError("checkpoint origin: must be one non-empty line")
        if len(self.root) != 32 or self.size < 0:
            raise NoteError("checkpoint: the root must be 32 bytes and the size not negative")
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not lines[0]:
            raise NoteError("checkpoint: expected origin, size and root hash lines")
        size_text = lines[1]
        if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
            raise NoteError(f"checkpoint: size {size_text!r} is not a decimal without leading zeros")
        try:
            root = base64.b64decode(lines[2], validate=True)
        except binascii.Error:
            raise NoteError("checkpoint: the root hash is not base64") from None
        if len(root) != 32:
            raise NoteError("checkpoint: the root hash is not 32 bytes")
        return cls(lines[0], int(size_text), root, tuple(lines[3:-1]))


def sign_checkpoint(checkpoint: Checkpoint, private_key: Ed25519PrivateKey, name: str | None = None) -> str:
    """The checkpoint as a note signed by ``private_key`` under ``name`` (the origin by default)."""
    return sign_note(checkpoint.body(), [(name or checkpoint.origin, private_key)])


def verify_checkpoint(note: str, verifiers: Iterable[Verifier], origin: str | None = None,
                      witnesses: Iterable[Verifier] = (), quorum: int = 0) -> Checkpoint:
    """The checkpoint a signed note carries, once the log's signature, ``quorum`` of the ``witnesses``'
    cosignatures and (if given) the origin check out."""
    logs, witnessing = list(verifiers), list(witnesses)
    if any(v.alg != ED25519 for v in logs) or any(w.alg != COSIGNATURE_V1 for w in witnessing):
        raise NoteError("checkpoint: log keys must be Ed25519 (0x01) and witness keys cosignature/v1 (0x04)")
    text, names = open_note(note, logs + witnessing)
    if not {v.name for v in logs} & set(names):
        raise NoteError("checkpoint: no signature by the log")
    cosigners = {w.name for w in witnessing} & set(names)
    if len(cosigners) < quorum:
        raise NoteError(f"checkpoint: {len(cosigners)} of the {quorum} witness cosignatures required")
    checkpoint = Checkpoint.parse(text)
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"checkpoint: origin {checkpoint.origin!r}, expected {origin!r}")
    return checkpoint
