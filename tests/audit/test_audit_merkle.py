"""The Merkle tree against a naive RFC 6962 reference: roots, the incremental tree, both proofs."""

from __future__ import annotations

from hashlib import sha256

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.audit.merkle import (
    EMPTY_ROOT,
    ListLeaves,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    root,
    verify_consistency,
    verify_inclusion,
)
from clearance.audit.record import leaf_hash

PROPERTY = settings(max_examples=150, deadline=None)
MAX = 300
LEAVES = [leaf_hash(b"leaf %d" % i) for i in range(MAX + 2)]


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 as written: the naive recursive Merkle Tree Hash over leaf hashes."""
    if not leaves:
        return sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 §2.1.1 PATH, recursively."""
    n = len(leaves)
    if n <= 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    """RFC 6962 §2.1.2 SUBPROOF, recursively."""
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return subproof(m, leaves[:k], complete) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def flip(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    return data[: bit // 8] + bytes([data[bit // 8] ^ (1 << bit % 8)]) + data[bit // 8 + 1:]


def test_empty_tree_is_the_hash_of_the_empty_string():
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root([]) == EMPTY_ROOT == MerkleTree().root()


def test_known_small_trees():
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert a == sha256(b"\x00a").digest()
    assert root([a]) == a
    assert root([a, b]) == sha256(b"\x01" + a + b).digest()
    ab = sha256(b"\x01" + a + b).digest()
    assert root([a, b, c]) == sha256(b"\x01" + ab + c).digest()


def test_rfc6962_test_vector_empty_leaf():
    # The leaf hash of an empty entry, as in the certificate-transparency reference test data.
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"


@pytest.mark.parametrize("n", [*range(0, 70), 127, 128, 129, 255, 256, 257, 300])
def test_root_matches_the_reference_for_every_small_size(n):
    assert root(LEAVES[:n]) == mth(LEAVES[:n])


def test_incremental_tree_matches_full_recomputation_at_every_size():
    tree = MerkleTree()
    for n in range(MAX + 1):
        assert tree.size == n
        assert tree.root() == root(LEAVES[:n])
        tree.append(LEAVES[n])


@PROPERTY
@given(st.lists(st.integers(0, 40), max_size=12))
def test_bulk_extend_matches_appends(chunks):
    bulk, single, start = MerkleTree(), MerkleTree(), 0
    for width in chunks:
        batch = LEAVES[start:start + width]
        bulk.extend(batch)
        for leaf in batch:
            single.append(leaf)
        start += len(batch)
        assert bulk.frontier == single.frontier
        assert bulk.root() == single.root() == mth(LEAVES[:start])
    resumed = MerkleTree(bulk.size, bulk.frontier)
    resumed.append(LEAVES[0])
    assert resumed.root() == mth([*LEAVES[:start], LEAVES[0]])


def test_a_frontier_must_fit_its_size():
    with pytest.raises(ValueError):
        MerkleTree(3, [LEAVES[0]])


@PROPERTY
@given(st.data())
def test_inclusion_proofs_verify_and_match_the_reference(data):
    size = data.draw(st.integers(1, MAX))
    index = data.draw(st.integers(0, size - 1))
    leaves = LEAVES[:size]
    proof = inclusion_proof(leaves, index, size)
    assert proof == path(index, leaves)
    assert verify_inclusion(leaves[index], index, size, proof, root(leaves))


@PROPERTY
@given(st.data())
def test_any_alteration_breaks_an_inclusion_proof(data):
    size = data.draw(st.integers(1, MAX))
    index = data.draw(st.integers(0, size - 1))
    leaves = LEAVES[:size]
    proof, good_root = inclusion_proof(leaves, index, size), root(leaves)
    bit = data.draw(st.integers(0, 255))
    assert not verify_inclusion(flip(leaves[index], bit), index, size, proof, good_root)
    assert not verify_inclusion(leaves[index], index, size, proof, flip(good_root, bit))
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        assert not verify_inclusion(leaves[index], index, size, [*proof[:at], flip(proof[at], bit), *proof[at + 1:]],
                                    good_root)
        assert not verify_inclusion(leaves[index], index, size, proof[:-1], good_root)
    assert not verify_inclusion(leaves[index], index, size, [*proof, LEAVES[0]], good_root)
    other = data.draw(st.integers(0, size))
    if other != index:  # another index (or one past the end) of the same tree
        assert not verify_inclusion(leaves[index], other, size, proof, good_root)
    # The size is bound by the root: a proof for one size never checks against the tree of another.
    other_size = data.draw(st.integers(index + 1, MAX + 1))
    if other_size != size:
        assert not verify_inclusion(leaves[index], index, other_size, proof, root(LEAVES[:other_size]))


@PROPERTY
@given(st.data())
def test_consistency_proofs_verify_and_match_the_reference(data):
    n = data.draw(st.integers(1, MAX))
    m = data.draw(st.integers(1, n))
    proof = consistency_proof(LEAVES, m, n)
    assert proof == (subproof(m, LEAVES[:n], True) if m < n else [])
    assert verify_consistency(m, n, root(LEAVES[:m]), root(LEAVES[:n]), proof)


@PROPERTY
@given(st.data())
def test_any_alteration_breaks_a_consistency_proof(data):
    n = data.draw(st.integers(1, MAX))
    m = data.draw(st.integers(1, n))
    root_m, root_n = root(LEAVES[:m]), root(LEAVES[:n])
    proof = consistency_proof(LEAVES, m, n)
    bit = data.draw(st.integers(0, 255))
    assert not verify_consistency(m, n, flip(root_m, bit), root_n, proof)
    assert not verify_consistency(m, n, root_m, flip(root_n, bit), proof)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        assert not verify_consistency(m, n, root_m, root_n, [*proof[:at], flip(proof[at], bit), *proof[at + 1:]])
        assert not verify_consistency(m, n, root_m, root_n, proof[:-1])
    assert not verify_consistency(m, n, root_m, root_n, [*proof, LEAVES[0]])
    other_m = data.draw(st.integers(1, n))
    if other_m != m:
        assert not verify_consistency(other_m, n, root(LEAVES[:other_m]), root_n, proof)
    other_n = data.draw(st.integers(m, MAX + 1))
    if other_n != n:
        assert not verify_consistency(m, other_n, root_m, root(LEAVES[:other_n]), proof)
    # A different history of the same length is not consistent.
    forked = [*LEAVES[:n]]
    forked[data.draw(st.integers(0, m - 1))] = LEAVES[MAX + 1]
    assert not verify_consistency(m, n, root_m, root(forked), proof)


def test_edge_cases_of_consistency():
    r5 = root(LEAVES[:5])
    assert consistency_proof(LEAVES, 5, 5) == [] and verify_consistency(5, 5, r5, r5, [])
    assert not verify_consistency(5, 5, r5, root(LEAVES[:6]), [])
    assert consistency_proof(LEAVES, 0, 5) == [] and verify_consistency(0, 5, EMPTY_ROOT, r5, [])
    assert not verify_consistency(0, 5, r5, r5, [])
    assert not verify_consistency(6, 5, r5, r5, [])
    assert not verify_consistency(3, 5, root(LEAVES[:3]), r5, [])
    with pytest.raises(ValueError):
        consistency_proof(LEAVES, 6, 5)


def test_malformed_inputs_fail_rather_than_raise():
    proof = inclusion_proof(LEAVES, 2, 5)
    r5 = root(LEAVES[:5])
    assert not verify_inclusion(LEAVES[2], 2, 5, [*proof[:-1], b"short"], r5)
    assert not verify_inclusion(LEAVES[2], -1, 5, proof, r5)
    assert not verify_inclusion(LEAVES[2], 2, 0, proof, r5)
    assert not verify_inclusion(LEAVES[2][:31], 2, 5, proof, r5)
    with pytest.raises(ValueError):
        inclusion_proof(LEAVES, 5, 5)


class CountingLeaves(ListLeaves):
    """A store stand-in: proof generation must go through subtree_hash only."""

    def __init__(self, leaves):
        super().__init__(leaves)
        self.calls = []

    def subtree_hash(self, start, end):
        self.calls.append((start, end))
        return super().subtree_hash(start, end)


def test_proofs_are_generated_from_subtree_hashes():
    source = CountingLeaves(LEAVES[:13])
    assert inclusion_proof(source, 6, 13) == path(6, LEAVES[:13])
    assert source.calls == [(8, 13), (0, 4), (4, 6), (7, 8)]
    assert consistency_proof(source, 7, 13) == subproof(7, LEAVES[:13], True)
    with pytest.raises(IndexError):
        source.subtree_hash(0, 14)
