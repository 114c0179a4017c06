"""Signed tree heads: signing, verification, tampering, unknown and rotated keys."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.audit.errors import HeadError
from clearance.audit.heads import DOMAIN, SignedTreeHead, TreeHead, key_id, sign_head, verify_head
from clearance.audit.merkle import root
from clearance.audit.record import leaf_hash

ROOT = root([leaf_hash(b"%d" % i) for i in range(10)])
AT = 1_751_000_000_123_456_789


@pytest.fixture(scope="module")
def key():
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def keys(key):
    return {key_id(key.public_key()): key.public_key()}


def flip(data: bytes, bit: int) -> bytes:
    return data[: bit // 8] + bytes([data[bit // 8] ^ (1 << bit % 8)]) + data[bit // 8 + 1:]


def test_a_signed_head_verifies(key, keys):
    sth = sign_head(key, 10, ROOT, AT)
    assert sth.head.key_id == key_id(key.public_key()) and len(sth.head.key_id) == 16
    verify_head(sth, keys)
    assert SignedTreeHead.from_json(sth.to_json()) == sth


def test_signing_bytes_have_a_fixed_domain_separated_layout(key):
    head = sign_head(key, 10, ROOT, AT).head
    data = head.signing_bytes()
    assert data == DOMAIN + (10).to_bytes(8, "big") + AT.to_bytes(8, "big") + ROOT + head.key_id.encode()
    assert len(data) == len(DOMAIN) + 8 + 8 + 32 + 16


@pytest.mark.parametrize("bit", [0, 7, 100, 255])
def test_a_flipped_bit_in_the_root_fails(key, keys, bit):
    sth = sign_head(key, 10, ROOT, AT)
    forged = SignedTreeHead(TreeHead(10, flip(ROOT, bit), AT, sth.head.key_id), sth.signature)
    with pytest.raises(HeadError) as caught:
        verify_head(forged, keys)
    assert caught.value.code == "bad-signature"


@pytest.mark.parametrize("size", [11, 10 ^ (1 << 40), 0])
def test_another_size_or_instant_fails(key, keys, size):
    sth = sign_head(key, 10, ROOT, AT)
    for head in (TreeHead(size, ROOT, AT, sth.head.key_id), TreeHead(10, ROOT, AT + 1, sth.head.key_id)):
        with pytest.raises(HeadError, match="signature does not verify"):
            verify_head(SignedTreeHead(head, sth.signature), keys)


@pytest.mark.parametrize("bit", [0, 9, 300, 511])
def test_a_flipped_bit_in_the_signature_fails(key, keys, bit):
    sth = sign_head(key, 10, ROOT, AT)
    with pytest.raises(HeadError):
        verify_head(SignedTreeHead(sth.head, flip(sth.signature, bit)), keys)


def test_an_unknown_key_id_fails(key, keys):
    stranger = sign_head(Ed25519PrivateKey.generate(), 10, ROOT, AT)
    with pytest.raises(HeadError) as caught:
        verify_head(stranger, keys)
    assert caught.value.code == "unknown-key"


def test_a_key_filed_under_the_wrong_id_is_not_used(key):
    sth = sign_head(key, 10, ROOT, AT)
    mislabelled = {sth.head.key_id: Ed25519PrivateKey.generate().public_key()}
    with pytest.raises(HeadError, match="no published public key"):
        verify_head(sth, mislabelled)


def test_a_head_reattributed_to_another_key_fails(key, keys):
    other = Ed25519PrivateKey.generate()
    sth = sign_head(key, 10, ROOT, AT)
    moved = SignedTreeHead(TreeHead(10, ROOT, AT, key_id(other.public_key())), sth.signature)
    with pytest.raises(HeadError, match="signature does not verify"):
        verify_head(moved, {**keys, key_id(other.public_key()): other.public_key()})


@pytest.mark.parametrize("fields", [
    {"size": -1}, {"size": 2**64}, {"at_ns": -1}, {"root": b"\x00" * 31}, {"key_id": "ABCDEF0123456789"},
    {"key_id": "abc"},
])
def test_malformed_heads_are_rejected(fields):
    with pytest.raises(HeadError) as caught:
        TreeHead(**{"size": 1, "root": ROOT, "at_ns": 0, "key_id": "0" * 16, **fields})
    assert caught.value.code == "malformed-head"


@pytest.mark.parametrize("line", [b"nope", b"[]", b'{"size":1}',
                                  b'{"at_ns":0,"key_id":"0000000000000000","root":"zz","signature":"",'
                                  b'"size":1,"v":1}'])
def test_malformed_head_lines_are_rejected(line):
    with pytest.raises(HeadError):
        SignedTreeHead.from_json(line)
