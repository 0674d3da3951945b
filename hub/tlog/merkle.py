"""The log's Merkle tree, exactly as RFC 9162 (Certificate Transparency 2.0) section 2.1 defines it.

Every stored event is a leaf, in log order. The tree is built from the stored bytes, so
destroying a child's key (which makes the ciphertext unreadable) leaves every hash, root
and proof as it was.

Hashing (RFC 9162 §2.1.1), with SHA-256 as HASH:

- the hash of an empty list is ``HASH()``;
- a leaf is ``HASH(0x00 || d)``;
- an interior node is ``HASH(0x01 || left || right)``, where the left subtree holds the
  first ``k`` entries and ``k`` is the largest power of two smaller than the number of
  entries.

The two prefixes keep leaves and interior nodes apart, so no entry can be passed off as
an interior node (a second preimage) and no interior node as an entry.

The module is pure: it takes bytes and sizes and returns hashes, proofs and verdicts.

- :func:`root`, :func:`inclusion_proof` and :func:`consistency_proof` follow the RFC's
  recursive definitions (§2.1.1, §2.1.3.1, §2.1.4.1) over a list of entries; they are the
  reference the rest is checked against.
- :class:`MerkleLog` keeps every complete subtree hash, one list per level, so appending
  costs O(log n) hashes and a root or proof for any earlier size needs O(log n) lookups
  and no rehashing of the log.
- :func:`verify_inclusion` and :func:`verify_consistency` are the RFC's verification
  algorithms (§2.1.3.2, §2.1.4.2) step by step. They never raise on a bad proof; they
  return a :class:`Verdict` naming the failed step, and :meth:`Verdict.raise_for_failure`
  turns a failed verdict into a :class:`ProofError` for callers that prefer exceptions.
- :func:`first_difference` and :meth:`MerkleLog.first_difference` name the first position
  at which two logs differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

HASH_SIZE = 32
"""SHA-256 output length; every leaf hash, node hash, root and proof element has it."""

MAX_TREE_SIZE = 2**64 - 1
"""Tree sizes and leaf indices are uint64 on the wire (RFC 9162 §4.12, §4.13)."""

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = HASH(), the root of the empty tree (RFC 9162 §2.1.1)."""


# --- hashing (RFC 9162 §2.1.1) ----------------------------------------------------------


def leaf_hash(entry: bytes) -> bytes:
    """MTH({d[0]}) = HASH(0x00 || d[0]) (RFC 9162 §2.1.1)."""
    return hashlib.sha256(LEAF_PREFIX + bytes(entry)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])) (RFC 9162 §2.1.1)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1): the size of the left subtree (RFC 9162 §2.1.1)."""
    if n < 2:
        raise ValueError("a tree of fewer than two entries is not split")
    return 1 << ((n - 1).bit_length() - 1)


# --- the reference definitions over a list of entries ------------------------------------


def root(entries: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash MTH(D[n]) of a list of entries (RFC 9162 §2.1.1)."""
    return _mth([leaf_hash(e) for e in entries])


def inclusion_proof(index: int, entries: Sequence[bytes]) -> list[bytes]:
    """The inclusion path PATH(m, D[n]) for entry ``index`` (RFC 9162 §2.1.3.1)."""
    if not 0 <= index < len(entries):
        raise ValueError("the leaf index must be below the tree size")
    return _path(index, [leaf_hash(e) for e in entries])


def consistency_proof(first_size: int, entries: Sequence[bytes]) -> list[bytes]:
    """The consistency proof PROOF(m, D[n]) from the first ``first_size`` entries (RFC 9162 §2.1.4.1).

    For m = n the proof is SUBPROOF(n, D[n], true) = {}. For m = 0 the proof is empty too:
    the empty tree is a prefix of every tree (the RFC defines proofs for 0 < m).
    """
    if not 0 <= first_size <= len(entries):
        raise ValueError("the earlier size must be between 0 and the tree size")
    if first_size == 0:
        return []
    return _subproof(first_size, [leaf_hash(e) for e in entries], True)


def _mth(hashes: Sequence[bytes]) -> bytes:
    n = len(hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashes[0]
    k = split_point(n)
    return node_hash(_mth(hashes[:k]), _mth(hashes[k:]))


def _path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    # PATH(0, {d[0]}) = {}; for m < k: PATH(m, D[0:k]) : MTH(D[k:n]);
    # for m >= k: PATH(m - k, D[k:n]) : MTH(D[0:k])  (RFC 9162 §2.1.3.1)
    n = len(hashes)
    if n == 1:
        return []
    k = split_point(n)
    if m < k:
        return [*_path(m, hashes[:k]), _mth(hashes[k:])]
    return [*_path(m - k, hashes[k:]), _mth(hashes[:k])]


def _subproof(m: int, hashes: Sequence[bytes], whole: bool) -> list[bytes]:
    # SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])};
    # m <= k: SUBPROOF(m, D[0:k], b) : MTH(D[k:n]);
    # m > k: SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])  (RFC 9162 §2.1.4.1)
    n = len(hashes)
    if m == n:
        return [] if whole else [_mth(hashes)]
    k = split_point(n)
    if m <= k:
        return [*_subproof(m, hashes[:k], whole), _mth(hashes[k:])]
    return [*_subproof(m - k, hashes[k:], False), _mth(hashes[:k])]


# --- verdicts ---------------------------------------------------------------------------


class Failure(str, Enum):
    """Why a proof was rejected. Each names the rule it breaks."""

    MALFORMED_HASH = "malformed_hash"
    """A hash, root or path element is not a 32-byte SHA-256 value."""
    SIZE_OUT_OF_RANGE = "size_out_of_range"
    """A size or index is negative or does not fit the uint64 of the wire format."""
    INDEX_NOT_BELOW_SIZE = "index_not_below_size"
    """The leaf index is not below the tree size."""
    SIZES_OUT_OF_ORDER = "sizes_out_of_order"
    """The earlier tree is larger than the later one."""
    EMPTY_PATH = "empty_path"
    """A consistency proof between different non-empty sizes has no elements."""
    UNEXPECTED_PATH = "unexpected_path"
    """A proof that must be empty (equal sizes, or from the empty tree) is not."""
    PATH_TOO_LONG = "path_too_long"
    """The path has more elements than the tree has levels above the leaf."""
    PATH_TOO_SHORT = "path_too_short"
    """The path ended before reaching the root."""
    ROOT_MISMATCH = "root_mismatch"
    """The root computed from the proof is not the root given."""
    FIRST_ROOT_MISMATCH = "first_root_mismatch"
    """The earlier root computed from a consistency proof is not the one given."""
    SECOND_ROOT_MISMATCH = "second_root_mismatch"
    """The later root computed from a consistency proof is not the one given."""


@dataclass(frozen=True)
class Verdict:
    """The answer to 'does this proof hold?': ``ok``, or the failure and the clause it breaks."""

    ok: bool
    failure: Failure | None = None
    clause: str = ""
    detail: str = ""

    def __bool__(self) -> bool:
        return self.ok

    def raise_for_failure(self) -> None:
        if not self.ok:
            raise ProofError(self)


class ProofError(ValueError):
    """A proof was rejected; ``verdict`` says which step failed."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(f"{verdict.clause}: {verdict.detail}")
        self.verdict = verdict
        self.failure = verdict.failure
        self.clause = verdict.clause


_HOLDS = Verdict(True)


def _reject(failure: Failure, clause: str, detail: str) -> Verdict:
    return Verdict(False, failure, clause, detail)


def _malformed(values: Iterable[object], clause: str, what: str) -> Verdict | None:
    for value in values:
        if not isinstance(value, bytes | bytearray | memoryview) or len(value) != HASH_SIZE:
            return _reject(Failure.MALFORMED_HASH, clause, f"every {what} must be a {HASH_SIZE}-byte SHA-256 hash")
    return None


def _out_of_range(*numbers: int) -> bool:
    return any(not isinstance(x, int) or isinstance(x, bool) or not 0 <= x <= MAX_TREE_SIZE for x in numbers)


def _lsb(x: int) -> int:
    return x & 1


# --- verifying an inclusion proof (RFC 9162 §2.1.3.2) -----------------------------------

_INCLUSION = "RFC 9162 §2.1.3.2"


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root_hash: bytes) -> Verdict:
    """Does ``path`` prove that leaf hash ``leaf`` is entry ``index`` of the tree of ``size`` with ``root_hash``?

    The steps are RFC 9162 §2.1.3.2's, in order; ``leaf`` is the leaf hash HASH(0x00 || entry).
    The path pins the size only through its shape (a leaf's path is the same in every tree
    where its subtrees are the same), so ``size`` and ``root_hash`` must come together from
    one verified checkpoint.
    """
    if _out_of_range(index, size):
        return _reject(Failure.SIZE_OUT_OF_RANGE, "RFC 9162 §4.12", "leaf index and tree size are uint64")
    bad = _malformed([leaf, root_hash, *path], "RFC 9162 §2.1.1", "leaf hash, root and path element")
    if bad is not None:
        return bad
    # 1. If leaf_index is greater than or equal to tree_size, fail.
    if index >= size:
        return _reject(
            Failure.INDEX_NOT_BELOW_SIZE, f"{_INCLUSION} step 1", "the leaf index is not below the tree size"
        )
    # 2. Set fn to leaf_index and sn to tree_size - 1.
    fn, sn = index, size - 1
    # 3. Set r to hash.
    r = bytes(leaf)
    # 4. For each value p in the inclusion_path array:
    for p in path:
        p = bytes(p)
        # a. If sn is 0, stop the iteration and fail.
        if sn == 0:
            return _reject(Failure.PATH_TOO_LONG, f"{_INCLUSION} step 4a", "the path is longer than the tree is deep")
        # b. If LSB(fn) is set, or if fn is equal to sn:
        if _lsb(fn) or fn == sn:
            # i. Set r to HASH(0x01 || p || r).
            r = node_hash(p, r)
            # ii. If LSB(fn) is not set, right-shift fn and sn equally until LSB(fn) is set or fn is 0.
            if not _lsb(fn):
                while not _lsb(fn) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            # Otherwise: i. Set r to HASH(0x01 || r || p).
            r = node_hash(r, p)
        # c. Right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 5. If sn is 0 and r equals root_hash, inclusion is proven; otherwise fail.
    if sn != 0:
        return _reject(Failure.PATH_TOO_SHORT, f"{_INCLUSION} step 5", "the path ends before the root")
    if r != bytes(root_hash):
        return _reject(Failure.ROOT_MISMATCH, f"{_INCLUSION} step 5", "the path does not lead to the root")
    return _HOLDS


# --- verifying consistency between two tree heads (RFC 9162 §2.1.4.2) -------------------

_CONSISTENCY = "RFC 9162 §2.1.4.2"


def verify_consistency(
    first_size: int, second_size: int, path: Sequence[bytes], first_root: bytes, second_root: bytes
) -> Verdict:
    """Does ``path`` prove that the tree of ``first_size`` with ``first_root`` is a prefix of the later one?

    For 0 < first < second the steps are RFC 9162 §2.1.4.2's, in order. The ends are
    settled by the definitions: equal sizes have the empty proof SUBPROOF(n, D[n], true)
    and must have equal roots (§2.1.4.1); the empty tree, whose root is HASH() (§2.1.1),
    is a prefix of every tree and also has the empty proof. As with inclusion, both sizes
    must come with their roots from verified checkpoints.
    """
    if _out_of_range(first_size, second_size):
        return _reject(Failure.SIZE_OUT_OF_RANGE, "RFC 9162 §4.13", "tree sizes are uint64")
    bad = _malformed([first_root, second_root, *path], "RFC 9162 §2.1.1", "root and path element")
    if bad is not None:
        return bad
    first_root, second_root = bytes(first_root), bytes(second_root)
    if first_size > second_size:
        return _reject(Failure.SIZES_OUT_OF_ORDER, "RFC 9162 §2.1.4", "the earlier tree is larger than the later one")
    if first_size == 0:
        if path:
            return _reject(Failure.UNEXPECTED_PATH, "RFC 9162 §2.1.4.1", "the proof from the empty tree is empty")
        if first_root != EMPTY_ROOT:
            return _reject(Failure.FIRST_ROOT_MISMATCH, "RFC 9162 §2.1.1", "the empty tree's root is HASH()")
        return _HOLDS
    if first_size == second_size:
        if path:
            return _reject(Failure.UNEXPECTED_PATH, "RFC 9162 §2.1.4.1", "the proof between equal sizes is empty")
        if first_root != second_root:
            return _reject(Failure.SECOND_ROOT_MISMATCH, "RFC 9162 §2.1.4.1", "equal sizes with different roots")
        return _HOLDS

    # 1. If consistency_path is an empty array, stop and fail.
    if not path:
        return _reject(Failure.EMPTY_PATH, f"{_CONSISTENCY} step 1", "the proof is empty")
    proof = [bytes(c) for c in path]
    # 2. If first is an exact power of 2, prepend first_hash to the consistency_path array.
    if first_size & (first_size - 1) == 0:
        proof = [first_root, *proof]
    # 3. Set fn to first - 1 and sn to second - 1.
    fn, sn = first_size - 1, second_size - 1
    # 4. If LSB(fn) is set, right-shift both fn and sn equally until LSB(fn) is not set.
    while _lsb(fn):
        fn >>= 1
        sn >>= 1
    # 5. Set both fr and sr to the first value in the consistency_path array.
    fr = sr = proof[0]
    # 6. For each subsequent value c in the consistency_path array:
    for c in proof[1:]:
        # a. If sn is 0, stop the iteration and fail.
        if sn == 0:
            return _reject(
                Failure.PATH_TOO_LONG, f"{_CONSISTENCY} step 6a", "the proof is longer than the tree is deep"
            )
        # b. If LSB(fn) is set, or if fn is equal to sn:
        if _lsb(fn) or fn == sn:
            # i. Set fr to HASH(0x01 || c || fr).  ii. Set sr to HASH(0x01 || c || sr).
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            # iii. If LSB(fn) is not set, right-shift fn and sn equally until LSB(fn) is set or fn is 0.
            if not _lsb(fn):
                while not _lsb(fn) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            # Otherwise: i. Set sr to HASH(0x01 || sr || c).
            sr = node_hash(sr, c)
        # c. Right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 7. Verify that fr equals first_hash, sr equals second_hash, and sn is 0.
    if sn != 0:
        return _reject(Failure.PATH_TOO_SHORT, f"{_CONSISTENCY} step 7", "the proof ends before the later root")
    if fr != first_root:
        return _reject(
            Failure.FIRST_ROOT_MISMATCH, f"{_CONSISTENCY} step 7", "the proof does not lead to the earlier root"
        )
    if sr != second_root:
        return _reject(
            Failure.SECOND_ROOT_MISMATCH, f"{_CONSISTENCY} step 7", "the proof does not lead to the later root"
        )
    return _HOLDS


# --- the incremental log ----------------------------------------------------------------


class MerkleLog:
    """An append-only list of leaf hashes with every complete subtree hash kept, level by level.

    ``levels[h][i]`` is the hash of the perfect subtree over leaves ``i*2^h .. (i+1)*2^h - 1``.
    Appending adds the leaf and the subtrees it completes (O(log n) hashes). A root or proof
    for any size up to the current one is assembled from stored subtrees; the RFC's split
    always cuts a tree into an aligned perfect left part and a smaller rest, so this takes
    O(log n) stored hashes per root and O(log² n) per proof, with no leaf rehashed.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append(h)

    @classmethod
    def from_entries(cls, entries: Iterable[bytes]) -> MerkleLog:
        return cls(leaf_hash(e) for e in entries)

    def __len__(self) -> int:
        return len(self._levels[0])

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def append(self, leaf: bytes) -> int:
        """Appends a leaf hash; returns its index."""
        if not isinstance(leaf, bytes | bytearray | memoryview) or len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes")
        index = len(self._levels[0])
        self._levels[0].append(bytes(leaf))
        level, i = 0, index
        while i & 1:  # this node completes a pair: store the parent
            parent = node_hash(self._levels[level][i - 1], self._levels[level][i])
            level += 1
            if len(self._levels) == level:
                self._levels.append([])
            self._levels[level].append(parent)
            i >>= 1
        return index

    def append_entry(self, entry: bytes) -> int:
        """Appends an entry (the stored bytes), hashing it as a leaf; returns its index."""
        return self.append(leaf_hash(entry))

    def leaf_hash(self, index: int) -> bytes:
        self._check_index(index, self.size)
        return self._levels[0][index]

    def leaf_hashes(self) -> list[bytes]:
        return list(self._levels[0])

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (all of them by default)."""
        size = self._size_or_current(size)
        return self._range(0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) (RFC 9162 §2.1.3.1)."""
        size = self._size_or_current(size)
        self._check_index(index, size)
        return self._path(index, 0, size)

    def consistency_proof(self, first_size: int, second_size: int | None = None) -> list[bytes]:
        """PROOF(first_size, D[second_size]) (RFC 9162 §2.1.4.1); empty from size 0 or between equal sizes."""
        second_size = self._size_or_current(second_size)
        if not isinstance(first_size, int) or not 0 <= first_size <= second_size:
            raise ValueError("the earlier size must be between 0 and the later size")
        if first_size == 0:
            return []
        return self._subproof(first_size, 0, second_size, True)

    def first_difference(self, other: MerkleLog) -> int | None:
        """The first leaf position at which the two logs differ, or None if they are identical.

        Compares stored subtree hashes from the top and descends only into the first subtree
        that differs, so it touches O(log n) hashes. If one log is a prefix of the other, the
        answer is the shorter log's size.
        """
        common = min(self.size, other.size)
        start = 0
        for level in range(common.bit_length() - 1, -1, -1):
            if not common & (1 << level):
                continue
            i = start >> level
            if self._levels[level][i] != other._levels[level][i]:
                while level > 0:  # descend into the first differing half
                    level -= 1
                    i *= 2
                    if self._levels[level][i] == other._levels[level][i]:
                        i += 1
                return i
            start += 1 << level
        return None if self.size == other.size else common

    # -- internals --

    def _size_or_current(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= self.size:
            raise ValueError("the size must be between 0 and the number of leaves")
        return size

    @staticmethod
    def _check_index(index: int, size: int) -> None:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < size:
            raise ValueError("the leaf index must be below the tree size")

    def _range(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a non-empty range, from stored subtrees where possible."""
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            level = n.bit_length() - 1
            return self._levels[level][start >> level]
        k = split_point(n)
        return node_hash(self._range(start, start + k), self._range(start + k, end))

    def _path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = split_point(n)
        if m < k:
            return [*self._path(m, start, start + k), self._range(start + k, end)]
        return [*self._path(m - k, start + k, end), self._range(start, start + k)]

    def _subproof(self, m: int, start: int, end: int, whole: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if whole else [self._range(start, end)]
        k = split_point(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, whole), self._range(start + k, end)]
        return [*self._subproof(m - k, start + k, end, False), self._range(start, start + k)]


class Frontier:
    """The right edge of the tree: one hash per perfect subtree the leaves so far split into.

    Enough to append and to compute the current root, in O(log n) memory and with no leaf
    kept: a size of n = 2^a + 2^b + ... (a > b > ...) keeps the roots of the perfect
    subtrees of 2^a, 2^b, ... leaves, and MTH(D[n]) = node(P_a, node(P_b, ...)) because
    the RFC's split always takes the largest power of two first (RFC 9162 §2.1.1).
    """

    def __init__(self) -> None:
        self._subtrees: list[tuple[int, bytes]] = []  # (leaves, hash), largest first
        self.size = 0

    def append(self, leaf: bytes) -> None:
        if not isinstance(leaf, bytes | bytearray | memoryview) or len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes")
        count, h = 1, bytes(leaf)
        while self._subtrees and self._subtrees[-1][0] == count:
            _, left = self._subtrees.pop()
            count, h = count * 2, node_hash(left, h)
        self._subtrees.append((count, h))
        self.size += 1

    def root(self) -> bytes:
        if not self._subtrees:
            return EMPTY_ROOT
        h = self._subtrees[-1][1]
        for _, left in reversed(self._subtrees[:-1]):
            h = node_hash(left, h)
        return h


def first_difference(left: Sequence[bytes], right: Sequence[bytes]) -> int | None:
    """The first position at which two sequences (of entries or leaf hashes) differ, or None if equal.

    If one is a prefix of the other, the answer is the shorter one's length: the first
    position that one has and the other lacks.
    """
    for i, (a, b) in enumerate(zip(left, right)):
        if a != b:
            return i
    return None if len(left) == len(right) else min(len(left), len(right))
