"""The Merkle tree of RFC 6962 §2.1 (RFC 9162 §2.1): roots, inclusion and consistency proofs.

A log of n records is committed to by the Merkle Tree Hash (MTH) of its n leaf hashes:
MTH({}) = SHA-256(""), MTH({d}) = leaf, and for n > 1 with k the largest power of two
smaller than n, MTH(D[0:n]) = node_hash(MTH(D[0:k]), MTH(D[k:n])). Three ways to get it:

- ``root(leaf_hashes)`` recomputes from scratch, level by level (an unpaired last node moves up
  a level unchanged, which yields the same tree). This is the verifier's hot path.
- ``MerkleTree`` appends leaves one at a time (or in bulk) and keeps only the roots of its
  perfect subtrees, O(log n) state, so a writer can sign a head after every group commit.
- Proofs are generated over ``SubtreeHashes``, anything that can give the MTH of a range
  [start, end): a list today (``ListLeaves``), a store that caches interior nodes tomorrow.

Verifiers follow the algorithms of RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency)
and return a plain bool: a proof either checks or it does not; malformed input is False.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from hashlib import sha256
from typing import Protocol, runtime_checkable

from clearance.audit.record import node_hash

EMPTY_ROOT = sha256(b"").digest()
"""MTH of the empty tree: SHA-256 of the empty string (e3b0c442...b855)."""

HASH_SIZE = 32


def _level_root(level: list[bytes]) -> bytes:
    """Root of a non-empty list of hashes, level by level; consumes nothing the caller keeps."""
    while len(level) > 1:
        pairs = iter(level)
        upper = [sha256(b"\x01" + left + right).digest() for left, right in zip(pairs, pairs, strict=False)]
        if len(level) & 1:
            upper.append(level[-1])
        level = upper
    return level[0]


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of ``leaf_hashes`` (already leaf-hashed, 32 bytes each); ``EMPTY_ROOT`` for none."""
    if not leaf_hashes:
        return EMPTY_ROOT
    return _level_root(list(leaf_hashes))


class MerkleTree:
    """An append-only tree that remembers only the roots of its perfect subtrees.

    ``frontier`` holds one hash per set bit of ``size``, largest subtree first, so appending is
    amortised O(1) hashes and ``root()`` costs O(log n). ``MerkleTree(size, frontier)`` resumes
    a tree whose frontier was saved earlier.
    """

    __slots__ = ("_frontier", "_size")

    def __init__(self, size: int = 0, frontier: Iterable[bytes] = ()) -> None:
        self._size = size
        self._frontier = list(frontier)
        if size < 0 or len(self._frontier) != size.bit_count():
            raise ValueError(f"a frontier for size {size} has {size.bit_count()} hashes, got {len(self._frontier)}")

    @property
    def size(self) -> int:
        return self._size

    @property
    def frontier(self) -> tuple[bytes, ...]:
        """The perfect-subtree roots, largest first: enough to resume the tree."""
        return tuple(self._frontier)

    def _push(self, node: bytes, height: int) -> None:
        """Add the root of a perfect subtree of 2**height leaves; ``size`` must be a multiple of it."""
        carry = self._size >> height
        frontier = self._frontier
        while carry & 1:
            node = node_hash(frontier.pop(), node)
            carry >>= 1
        frontier.append(node)
        self._size += 1 << height

    def append(self, leaf: bytes) -> None:
        """Append one leaf hash."""
        self._push(leaf, 0)

    def extend(self, leaf_hashes: Sequence[bytes]) -> None:
        """Append many leaf hashes, hashing aligned perfect subtrees level by level (fast path)."""
        start, end = 0, len(leaf_hashes)
        while start < end:
            remaining = end - start
            height = remaining.bit_length() - 1
            if self._size:
                height = min(height, (self._size & -self._size).bit_length() - 1)
            width = 1 << height
            chunk = leaf_hashes[start:start + width]
            self._push(_level_root(list(chunk)) if width > 1 else chunk[0], height)
            start += width

    def root(self) -> bytes:
        """MTH of the leaves appended so far."""
        if not self._frontier:
            return EMPTY_ROOT
        nodes = self._frontier
        result = nodes[-1]
        for node in reversed(nodes[:-1]):
            result = node_hash(node, result)
        return result


@runtime_checkable
class SubtreeHashes(Protocol):
    """What proof generation needs: the MTH of the leaves in [start, end), 0 <= start < end."""

    def subtree_hash(self, start: int, end: int) -> bytes: ...


class ListLeaves:
    """``SubtreeHashes`` over an in-memory list of leaf hashes (recomputes each range)."""

    __slots__ = ("leaves",)

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.leaves = leaf_hashes

    def subtree_hash(self, start: int, end: int) -> bytes:
        if not 0 <= start < end <= len(self.leaves):
            raise IndexError(f"range [{start}, {end}) is outside the {len(self.leaves)} leaves")
        return _level_root(list(self.leaves[start:end]))


def _source(leaves: Sequence[bytes] | SubtreeHashes) -> SubtreeHashes:
    return leaves if isinstance(leaves, SubtreeHashes) else ListLeaves(leaves)


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_proof(leaves: Sequence[bytes] | SubtreeHashes, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 6962 §2.1.1: the audit path of leaf ``index`` in the tree of ``size``.

    Returns the sibling hashes from the leaf upwards. Raises ``ValueError`` unless 0 <= index < size.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    source = _source(leaves)
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(source.subtree_hash(lo + k, hi))
            hi = lo + k
        else:
            path.append(source.subtree_hash(lo, lo + k))
            lo += k
    path.reverse()
    return path


def consistency_proof(leaves: Sequence[bytes] | SubtreeHashes, m: int, n: int) -> list[bytes]:
    """PROOF(m, D[0:n]) of RFC 6962 §2.1.2: shows the tree of size m is a prefix of the tree of size n.

    Empty when m == n (and for m == 0, which every tree extends). Raises ``ValueError`` unless 0 <= m <= n.
    """
    if not 0 <= m <= n:
        raise ValueError(f"no consistency proof from size {m} to size {n}")
    if m in (0, n):
        return []
    source = _source(leaves)
    proof: list[bytes] = []
    lo, hi, complete = 0, n, True   # SUBPROOF(m - lo, D[lo:hi], complete)
    while True:
        width, target = hi - lo, m - lo
        if target == width:
            if not complete:
                proof.append(source.subtree_hash(lo, hi))
            break
        k = _split(width)
        if target <= k:
            proof.append(source.subtree_hash(lo + k, hi))
            hi = lo + k
        else:
            proof.append(source.subtree_hash(lo, lo + k))
            lo, complete = lo + k, False
    proof.reverse()
    return proof


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes) -> bool:
    """True iff ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree of ``size`` with root ``root_hash``.

    RFC 9162 §2.1.3.2. The size is bound only through the root: callers take (size, root) from a
    verified signed tree head.
    """
    if not (_is_hash(leaf) and _is_hash(root_hash) and all(_is_hash(p) for p in proof)):
        return False
    if type(index) is not int or type(size) is not int or not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(m: int, n: int, root_m: bytes, root_n: bytes, proof: Sequence[bytes]) -> bool:
    """True iff ``proof`` shows the tree of size ``m`` and root ``root_m`` is a prefix of the one of ``n``, ``root_n``.

    RFC 9162 §2.1.4.2, plus the edge cases it leaves to the caller: m == n needs an empty proof and
    equal roots; m == 0 needs an empty proof and ``root_m`` the empty-tree hash.
    """
    if not (_is_hash(root_m) and _is_hash(root_n) and all(_is_hash(p) for p in proof)):
        return False
    if type(m) is not int or type(n) is not int or not 0 <= m <= n:
        return False
    if m == 0:
        return not proof and root_m == EMPTY_ROOT
    if m == n:
        return not proof and root_m == root_n
    if not proof:
        return False
    path = list(proof)
    if m & (m - 1) == 0:
        path.insert(0, root_m)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root_m and sr == root_n and sn == 0
