"""A Merkle tree over the log's records, as RFC 9162 (Certificate Transparency 2.0) defines it.

Leaf ``i`` (0-based) is record ``i + 1``'s event bytes; ``leaf_hash(d) = sha256(0x00 || d)``,
``node(l, r) = sha256(0x01 || l || r)``, and the tree of ``n`` leaves splits at the largest power
of two below ``n`` (RFC 9162 section 2.1.1). A checkpoint carries the tree size and root, so an
inclusion proof (``log prove``) shows one record is in the signed night with ~log2(n) hashes.

:class:`Frontier` keeps the root of a growing tree in O(log n) memory and O(1) amortised work per
record (the writer's side); :func:`inclusion_proof` and :func:`root_of` work on a list of leaf
hashes (the prover's side, one pass over the log).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()  # RFC 9162: the hash of an empty list


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


class Frontier:
    """The roots of the perfect subtrees a tree of ``size`` leaves decomposes into, largest
    first; appending a leaf merges equal-sized neighbours like a binary counter."""

    def __init__(self) -> None:
        self.size = 0
        self._nodes: list[tuple[int, bytes]] = []  # (subtree size, subtree root)

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash (:func:`leaf_hash` of the record's bytes)."""
        nodes = self._nodes
        nodes.append((1, leaf))
        while len(nodes) > 1 and nodes[-1][0] == nodes[-2][0]:
            (n, right), (_, left) = nodes.pop(), nodes.pop()
            nodes.append((2 * n, node_hash(left, right)))
        self.size += 1

    def root(self) -> bytes:
        """The tree head: the subtree roots folded from the right (RFC 9162 MTH)."""
        if not self._nodes:
            return EMPTY_ROOT
        root = self._nodes[-1][1]
        for _, h in reversed(self._nodes[:-1]):
            root = node_hash(h, root)
        return root


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    f = Frontier()
    for h in leaves:
        f.append(h)
    return f.root()


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]) of RFC 9162 section 2.1.3.1: the sibling hashes from the leaf up."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf {index} is not in a tree of {n}")
    path: list[bytes] = []
    lo, hi = 0, n  # the subtree [lo, hi) that holds the leaf; siblings are collected top-down
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(root_of(leaves[lo + k : hi]))
            hi = lo + k
        else:
            path.append(root_of(leaves[lo : lo + k]))
            lo = lo + k
    path.reverse()  # RFC order: from the leaf's sibling up to the root's child
    return path


def root_from_proof(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """The root an inclusion proof leads to (RFC 9162 section 2.1.3.2), or None if the proof
    does not fit a tree of ``size`` leaves."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None
