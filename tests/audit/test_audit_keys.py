"""The key ring on disk: permissions, rotation, reloading, published keys, failing closed."""

from __future__ import annotations

import json
import os
import stat

import pytest

from clearance.audit.errors import HeadError, KeyRingError
from clearance.audit.heads import key_id, sign_head, verify_head
from clearance.audit.keys import KeyRing, load_public_keys
from clearance.audit.merkle import EMPTY_ROOT


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_create_writes_a_private_key_0600_and_publishes_its_public_key(tmp_path):
    ring = KeyRing.create(tmp_path / "keys")
    kid = ring.active_key_id
    assert kid == key_id(ring.active().public_key())
    assert mode(tmp_path / "keys" / "private" / f"{kid}.pem") == 0o600
    assert mode(tmp_path / "keys" / "private") == 0o700
    assert (tmp_path / "keys" / "private" / f"{kid}.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert set(load_public_keys(ring.public_dir)) == {kid}
    assert "PRIVATE" not in repr(ring)


def test_rotation_keeps_old_keys_and_their_heads_verify(tmp_path):
    ring = KeyRing.create(tmp_path)
    old_id = ring.active_key_id
    old_head = sign_head(ring.active(), 0, EMPTY_ROOT, 1)
    new_id = ring.rotate()
    assert new_id != old_id and ring.active_key_id == new_id and ring.key_ids == (old_id, new_id)
    assert mode(tmp_path / "private" / f"{new_id}.pem") == 0o600
    published = load_public_keys(tmp_path / "public")
    assert set(published) == {old_id, new_id} == set(ring.public_keys())
    verify_head(old_head, published)
    verify_head(sign_head(ring.active(), 0, EMPTY_ROOT, 2), published)
    reloaded = KeyRing.load(tmp_path)
    assert reloaded.key_ids == (old_id, new_id)
    assert key_id(reloaded.active().public_key()) == new_id


def test_create_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "stray").write_text("x")
    with pytest.raises(KeyRingError, match="refusing to overwrite"):
        KeyRing.create(tmp_path)


def test_missing_or_corrupt_files_fail_closed(tmp_path):
    ring = KeyRing.create(tmp_path / "k")
    kid = ring.active_key_id
    private = tmp_path / "k" / "private" / f"{kid}.pem"
    public = tmp_path / "k" / "public" / f"{kid}.pem"
    with pytest.raises(KeyRingError, match="cannot read the key ring manifest"):
        KeyRing.load(tmp_path / "absent")

    original = public.read_bytes()
    public.write_bytes(b"garbage")
    with pytest.raises(KeyRingError, match="not a PEM public key") as caught:
        KeyRing.load(tmp_path / "k")
    assert caught.value.path == str(public)
    with pytest.raises(KeyRingError):
        load_public_keys(tmp_path / "k" / "public")
    public.write_bytes(original)

    secret = private.read_bytes()
    private.write_bytes(secret[:40])
    with pytest.raises(KeyRingError, match="not an unencrypted PEM private key") as caught:
        KeyRing.load(tmp_path / "k")
    assert "PRIVATE" not in str(caught.value)
    private.unlink()
    with pytest.raises(KeyRingError, match="cannot read private key"):
        KeyRing.load(tmp_path / "k")


def test_a_swapped_key_or_a_bad_manifest_fails_closed(tmp_path):
    first, second = KeyRing.create(tmp_path / "a"), KeyRing.create(tmp_path / "b")
    a, b = first.active_key_id, second.active_key_id
    os.replace(tmp_path / "b" / "private" / f"{b}.pem", tmp_path / "a" / "private" / f"{a}.pem")
    with pytest.raises(KeyRingError, match="whose id is not"):
        KeyRing.load(tmp_path / "a")
    (tmp_path / "b" / "keyring.json").write_text(json.dumps({"v": 1, "active": "x", "keys": [b]}))
    with pytest.raises(KeyRingError, match="manifest must be"):
        KeyRing.load(tmp_path / "b")


def test_an_empty_public_directory_is_an_error(tmp_path):
    with pytest.raises(KeyRingError, match="no such directory"):
        load_public_keys(tmp_path / "none")
    with pytest.raises(KeyRingError, match="holds no"):
        load_public_keys(tmp_path)


def test_a_head_from_another_ring_does_not_verify(tmp_path):
    mine, theirs = KeyRing.create(tmp_path / "mine"), KeyRing.create(tmp_path / "theirs")
    with pytest.raises(HeadError):
        verify_head(sign_head(theirs.active(), 0, EMPTY_ROOT, 0), mine.public_keys())


def test_a_ring_adopts_a_rotation_made_by_another_process(tmp_path):
    """``clearance audit rotate-key`` beside a running server: the server signs and publishes the new key."""

    serving = KeyRing.create(tmp_path / "keys")
    old = serving.active_key_id
    new = KeyRing.load(tmp_path / "keys").rotate()  # the CLI's own ring
    assert key_id(serving.active().public_key()) == new
    assert set(serving.public_keys()) == {old, new}


def test_the_head_signed_is_the_head_stored_when_another_writer_signed_that_size_first(tmp_path):
    from clearance.services.audit_log import AuditLog
    from clearance.store.audit_memory import MemoryAuditStore
    from clearance.store.clock import FixedClock

    store, clock = MemoryAuditStore(), FixedClock(10**18)
    server = AuditLog(store, KeyRing.create(tmp_path / "a"), clock)
    cli = AuditLog(store, KeyRing.create(tmp_path / "b"), clock)
    server.append("decision", {"n": 1})
    first = server.sign_head()
    printed = cli.sign_head()
    assert printed == first and store.heads() == [first]
    server.close()
    cli.close()
