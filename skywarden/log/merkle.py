"""A Merkle tree over the log's records, as RFC 9162 (Certificate Transparency 2.0) defines it.

Leaf ``i`` (0-based) is record ``i + 1``'s event bytes; ``leaf_hash(d) = sha256(0x00 || d)``,
``node(l, r) = sha256(0x01 || l || r)``, and the tree of ``n`` leaves splits at the largest power
of two below ``n`` (RFC 9162 section 2.1.1). A checkpoint carries the tree size and root, so an
inclusion proof (``log prove``) shows one record is in the signed night with ~log2(n) hashes, and
a consistency proof (``log prove --consistency``) that the tree signed at one size is a prefix of
the tree signed at a later one (the log only grew).

:class:`Frontier` keeps the root of a growing tree in O(log n) memory and O(1) amortised work per
record (the writer's side; a checkpoint stores it, so that a resumed writer starts from there);
:func:`inclusion_proof`, :func:`consistency_proof` and :func:`root_of` work on a list of leaf
hashes (the prover's side, one pass over the log); :func:`root_from_proof` and
:func:`consistent` check proofs without the log (the verifier's side).
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

    @classmethod
    def restore(cls, size: int, hashes: Sequence[bytes]) -> Frontier:
        """The frontier of a tree of ``size`` leaves from its subtree roots (``hashes()``, largest
        first); ValueError when they cannot be that: one root per set bit of ``size``, 32 bytes
        each."""
        sizes = [1 << b for b in reversed(range(size.bit_length())) if size >> b & 1]
        if size < 0 or len(hashes) != len(sizes) or any(len(h) != 32 for h in hashes):
            raise ValueError(f"{len(hashes)} subtree roots cannot be the frontier of {size} leaves")
        f = cls()
        f.size, f._nodes = size, list(zip(sizes, (bytes(h) for h in hashes), strict=True))
        return f

    def hashes(self) -> tuple[bytes, ...]:
        """The subtree roots, largest subtree first: what :meth:`restore` takes back."""
        return tuple(h for _, h in self._nodes)

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


# ----------------------------------------------------------------------------- consistency proofs


def consistency_proof(old: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(old, D[n]) of RFC 9162 section 2.1.4.1 (n = len(leaves), 0 < old <= n): the hashes
    that show the tree of the first ``old`` leaves is a prefix of the tree of all of them."""
    n = len(leaves)
    if not 0 < old <= n:
        raise ValueError(f"no consistency proof from a tree of {old} to a tree of {n}")
    # SUBPROOF(m, D[lo:hi], b), unrolled: each step descends into the half holding the m-th
    # leaf's boundary and appends the other half's root; the RFC builds the list the same way
    # (the deepest part first), so the parts are collected top-down and reversed at the end.
    tail: list[bytes] = []
    m, lo, hi, whole = old, 0, n, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            tail.append(root_of(leaves[lo + k : hi]))
            hi = lo + k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            tail.append(root_of(leaves[lo : lo + k]))
            m, lo, whole = m - k, lo + k, False
    head = [] if whole else [root_of(leaves[lo:hi])]  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
    return head + tail[::-1]


def consistent(old: int, new: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]) -> bool:
    """Whether ``path`` proves the tree of ``old`` leaves (root ``old_root``) is a prefix of the
    tree of ``new`` leaves (root ``new_root``): RFC 9162 section 2.1.4.2, step by step; equal
    sizes need an empty path and equal roots."""
    if not 0 < old <= new:
        return False
    if old == new:
        return not path and old_root == new_root
    if not path:  # 1. an empty path proves nothing
        return False
    proof = list(path)
    if old & (old - 1) == 0:  # 2. old is a power of two: its root is a node of the new tree
        proof.insert(0, old_root)
    fn, sn = old - 1, new - 1  # 3.
    while fn & 1:  # 4.
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]  # 5.
    for c in proof[1:]:  # 6.
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0  # 7.
