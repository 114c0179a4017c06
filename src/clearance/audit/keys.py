"""Signing keys on disk: one active Ed25519 key, retired keys kept, public keys published.

Layout of a key directory (the only file I/O in the audit package)::

    keyring.json            {"v": 1, "active": "<key id>", "keys": ["<oldest id>", ..., "<active id>"]}
    private/<key id>.pem    PKCS#8 PEM, unencrypted, mode 0600 (directory 0700)
    public/<key id>.pem     SubjectPublicKeyInfo PEM: the directory to hand to auditors

Rotation adds a key and makes it active; retired keys stay so heads they signed still
verify and the published directory keeps every key ever used. A ring notices a rotation
made by another process (``clearance audit rotate-key`` beside a running server): before it
signs or publishes it re-reads the manifest if the file changed, and adopts the new keys
when the old order is a prefix of the new one. Everything fails closed: a
missing, unreadable or inconsistent file raises ``KeyRingError`` naming the path, never
returning a partial ring. Messages and reprs never contain key material.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from clearance.audit.errors import KeyRingError
from clearance.audit.heads import key_id

MANIFEST = "keyring.json"
PRIVATE_DIR = "private"
PUBLIC_DIR = "public"


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to a file that must not exist yet, created with ``mode``, and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, mode)  # the umask may have narrowed or the fs widened it


def _replace(path: Path, data: bytes) -> None:
    """Atomically replace ``path`` with ``data`` (write a sibling, fsync, rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    _write_new(tmp, data, 0o644)
    os.replace(tmp, path)


def _read_public(path: Path) -> Ed25519PublicKey:
    try:
        key = load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise KeyRingError(path, f"cannot read public key ({exc.strerror})") from None
    except ValueError:
        raise KeyRingError(path, "not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyRingError(path, f"expected an Ed25519 public key, got {type(key).__name__}")
    return key


def load_public_keys(public_dir: str | os.PathLike[str]) -> dict[str, Ed25519PublicKey]:
    """Every ``*.pem`` public key in ``public_dir``, by key id (computed from the key, not the file name).

    This is all an auditor needs besides the exported records and heads. Raises ``KeyRingError``
    when the directory is missing, holds no keys, or a file is not an Ed25519 public key.
    """
    directory = Path(public_dir)
    if not directory.is_dir():
        raise KeyRingError(directory, "no such directory of public keys")
    keys = {key_id(k): k for k in map(_read_public, sorted(directory.glob("*.pem")))}
    if not keys:
        raise KeyRingError(directory, "holds no *.pem public keys")
    return keys


class KeyRing:
    """The signing keys of one log, kept in a directory (see the module docstring for the layout).

    ``KeyRing.create(dir)`` makes a ring with one key; ``KeyRing.load(dir)`` opens an existing one.
    """

    def __init__(self, directory: Path, order: list[str], private: dict[str, Ed25519PrivateKey]) -> None:
        self.directory = directory
        self._order = order
        self._private = private
        self._stamp = self._manifest_stamp()

    def _manifest_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = (self.directory / MANIFEST).stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _follow(self) -> None:
        """Adopt keys another process added since this ring was read (a stat when nothing changed)."""
        stamp = self._manifest_stamp()
        if stamp is None or stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            newer = KeyRing.load(self.directory)
        except KeyRingError:
            return  # a half-written or broken ring: keep the keys we hold; the next change is read again
        if newer._order[: len(self._order)] == self._order:
            self._order, self._private = newer._order, newer._private

    def __repr__(self) -> str:
        return f"KeyRing({str(self.directory)!r}, active={self.active_key_id!r}, keys={len(self._order)})"

    @property
    def active_key_id(self) -> str:
        return self._order[-1]

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every key id, oldest first; the last one is active."""
        return tuple(self._order)

    @property
    def public_dir(self) -> Path:
        return self.directory / PUBLIC_DIR

    def active(self) -> Ed25519PrivateKey:
        """The private key new heads are signed with (the newest, also if another process rotated)."""
        self._follow()
        return self._private[self.active_key_id]

    def signing_key(self, kid: str) -> Ed25519PrivateKey:
        """The private key with id ``kid`` (retired ones too: checkpoints of their heads are signed by them)."""
        if kid not in self._private:
            raise KeyRingError(f"{self.directory}: no key with id {kid!r}")
        return self._private[kid]

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """Every public key, retired ones included, by key id."""
        self._follow()
        return {kid: self._private[kid].public_key() for kid in self._order}

    @classmethod
    def create(cls, directory: str | os.PathLike[str]) -> KeyRing:
        """Make a new ring with one fresh active key in ``directory`` (created if absent, else must be empty)."""
        path = Path(directory)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise KeyRingError(path, "already exists and is not an empty directory; refusing to overwrite")
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        (path / PRIVATE_DIR).mkdir(mode=0o700)
        os.chmod(path / PRIVATE_DIR, 0o700)
        (path / PUBLIC_DIR).mkdir(mode=0o755)
        ring = cls(path, [], {})
        ring._add_key()
        return ring

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> KeyRing:
        """Open an existing ring; raises ``KeyRingError`` if any listed key is missing, corrupt or mismatched."""
        path = Path(directory)
        manifest = path / MANIFEST
        try:
            meta = json.loads(manifest.read_bytes())
        except OSError as exc:
            raise KeyRingError(manifest, f"cannot read the key ring manifest ({exc.strerror})") from None
        except ValueError:
            raise KeyRingError(manifest, "manifest is not JSON") from None
        order = meta.get("keys") if isinstance(meta, dict) else None
        if (not isinstance(order, list) or not order or not all(isinstance(k, str) for k in order)
                or meta.get("v") != 1 or meta.get("active") != order[-1] or len(set(order)) != len(order)):
            raise KeyRingError(manifest, "manifest must be {v: 1, keys: [ids...], active: last id}")
        private = {kid: cls._load_pair(path, kid) for kid in order}
        return cls(path, list(order), private)

    @staticmethod
    def _load_pair(path: Path, kid: str) -> Ed25519PrivateKey:
        """Load one private key and check it against its id and its published public key."""
        file = path / PRIVATE_DIR / f"{kid}.pem"
        try:
            key = load_pem_private_key(file.read_bytes(), password=None)
        except OSError as exc:
            raise KeyRingError(file, f"cannot read private key ({exc.strerror})") from None
        except (ValueError, TypeError):
            raise KeyRingError(file, "not an unencrypted PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyRingError(file, f"expected an Ed25519 private key, got {type(key).__name__}")
        if key_id(key.public_key()) != kid:
            raise KeyRingError(file, f"holds a key whose id is not {kid!r}")
        public_file = path / PUBLIC_DIR / f"{kid}.pem"
        if key_id(_read_public(public_file)) != kid:
            raise KeyRingError(public_file, f"published key does not match private key {kid!r}")
        return key

    def rotate(self) -> str:
        """Make a fresh key active, keep the old ones (retired, still published); return the new key id."""
        return self._add_key()

    def _add_key(self) -> str:
        key = Ed25519PrivateKey.generate()
        kid = key_id(key.public_key())
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        public_pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        try:
            _write_new(self.directory / PRIVATE_DIR / f"{kid}.pem", pem, 0o600)
            _write_new(self.public_dir / f"{kid}.pem", public_pem, 0o644)
        except OSError as exc:
            raise KeyRingError(self.directory, f"cannot write key {kid} ({exc.strerror})") from None
        order = [*self._order, kid]
        manifest = {"v": 1, "active": kid, "keys": order}
        _replace(self.directory / MANIFEST, json.dumps(manifest, indent=1).encode() + b"\n")
        self._order = order
        self._private[kid] = key
        self._stamp = self._manifest_stamp()
        return kid
