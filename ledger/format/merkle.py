"""RFC 9162 Merkle tree hashing, inclusion and consistency proofs, and their verification.

Pure functions over 32-byte leaf hashes (for the ledger, a leaf hash is an event hash; see
ledger.envelope). Nothing here touches the database, so an outside verifier needs only this module's
rules, which docs/LEDGER-FORMAT.md restates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The roots of the perfect subtrees that make up a tree of `size` leaves (its compact range).

    Appending a leaf costs one node hash on average; `root()` folds the frontier into the tree head.
    """

    __slots__ = ("_nodes", "size")

    def __init__(self, size: int = 0, nodes: Sequence[bytes] = ()) -> None:
        if len(nodes) != size.bit_count():
            raise ValueError(f"a frontier of size {size} has {size.bit_count()} nodes, not {len(nodes)}")
        self.size = size
        self._nodes = list(nodes)

    def append(self, leaf: bytes) -> None:
        self.extend((leaf,))

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append leaves. Runs of leaves that fill a whole perfect subtree (as many as the size's lowest
        set bit allows) are hashed level by level and appended as that subtree's root: the same nodes
        as one leaf at a time, with less work per hash."""
        pending = leaves if isinstance(leaves, list) else list(leaves)
        nodes, size, sha = self._nodes, self.size, _sha256
        start, count = 0, len(pending)
        while start < count:
            height = (count - start).bit_length() - 1  # the largest perfect subtree that fits
            if size:
                height = min(height, (size & -size).bit_length() - 1)  # ... and keeps the frontier aligned
            level = pending[start : start + (1 << height)]
            while len(level) > 1:
                pairs = iter(level)
                level = [sha(b"\x01" + left + right).digest() for left, right in zip(pairs, pairs, strict=False)]
            node, carry = level[0], size >> height
            while carry & 1:  # merge equal-height subtrees, as in binary addition
                node = sha(b"\x01" + nodes.pop() + node).digest()
                carry >>= 1
            nodes.append(node)
            size += 1 << height
            start += 1 << height
        self.size = size

    def root(self) -> bytes:
        if not self._nodes:
            return EMPTY_ROOT
        nodes = self._nodes
        result = nodes[-1]
        for node in reversed(nodes[:-1]):
            result = _sha256(b"\x01" + node + result).digest()
        return result

    @property
    def nodes(self) -> tuple[bytes, ...]:
        return tuple(self._nodes)

    def copy(self) -> Frontier:
        return Frontier(self.size, self._nodes)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes."""
    frontier = Frontier()
    frontier.extend(leaves)
    return frontier.root()


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) of RFC 9162 §2.1.3.1, for a tree over `leaves`."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf index {index} is outside a tree of size {len(leaves)}")
    proof: list[bytes] = []
    lo, hi, m = 0, len(leaves), index
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            proof.append(root(leaves[lo + k : hi]))
            hi = lo + k
        else:
            proof.append(root(leaves[lo : lo + k]))
            lo, m = lo + k, m - k
    proof.reverse()
    return proof


def consistency_proof(leaves: Sequence[bytes], first: int) -> list[bytes]:
    """PROOF(first, D[n]) of RFC 9162 §2.1.4.1, for a tree over `leaves`."""
    n = len(leaves)
    if not 0 <= first <= n:
        raise ValueError(f"size {first} is outside a tree of size {n}")
    if first in (0, n):
        return []
    proof: list[bytes] = []
    lo, hi, m, whole = 0, n, first, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append(root(leaves[lo + k : hi]))
            hi = lo + k
        else:
            proof.append(root(leaves[lo : lo + k]))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        proof.append(root(leaves[lo:hi]))
    proof.reverse()
    return proof


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` show that `leaf` is entry `index` of the tree `root_hash`?"""
    if not 0 <= index < size:
        return False
    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and result == root_hash


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: does `proof` show that tree `second` extends tree `first`?"""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
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
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
