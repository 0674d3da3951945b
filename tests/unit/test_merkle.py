"""The log's Merkle tree against the Certificate Transparency vectors, forged proofs and random logs.

The vectors are the published RFC 6962 / RFC 9162 test data (same hashing in both RFCs).
Every forged proof in the tables below must be rejected, and the property tests check
that every honest proof verifies and that a single flipped bit breaks it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hub.tlog.merkle as merkle
from hub.tlog.merkle import (
    EMPTY_ROOT,
    Failure,
    MerkleLog,
    ProofError,
    consistency_proof,
    first_difference,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# --- Certificate Transparency test vectors -----------------------------------------------
# Data copied from github.com/transparency-dev/merkle (Apache-2.0):
# testonly/constants.go (LeafInputs, NodeHashes, RootHashes) and proof/verify_test.go
# (inclusionProofs, consistencyProofs; the leaf numbers there are 1-based).

LEAF_INPUTS = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]

# NODE_HASHES[level][i]: the hash of the perfect subtree over leaves i*2^level .. (i+1)*2^level - 1.
NODE_HASHES = [
    [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ],
    [
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ],
    [
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    [
        h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
    ],
]

# ROOTS[n]: the root of the tree over the first n leaf inputs.
ROOTS = [
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# (1-based leaf number, tree size, inclusion path)
INCLUSION_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (3, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        2,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]

# (first size, second size, consistency proof)
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

# Hasher vectors from transparency-dev/merkle rfc6962/rfc6962_test.go (TestRFC6962Hasher).
HASHER_VECTORS = [
    ("the empty tree is the hash of the empty string", EMPTY_ROOT, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("an empty leaf differs from the empty tree", leaf_hash(b""), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    ("a leaf is prefixed with 0x00", leaf_hash(b"L123456"), "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"),
    ("a node is prefixed with 0x01", node_hash(b"N123", b"N456"), "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"),
]

LOG = MerkleLog.from_entries(LEAF_INPUTS)


# --- the vectors -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "got", "want"), HASHER_VECTORS, ids=[v[0] for v in HASHER_VECTORS])
def test_leaf_and_node_hashes_match_the_rfc6962_hasher_vectors(name: str, got: bytes, want: str) -> None:
    assert got.hex() == want


@pytest.mark.parametrize("size", range(len(ROOTS)))
def test_the_root_of_every_prefix_of_the_vector_leaves_is_the_published_root(size: int) -> None:
    assert root(LEAF_INPUTS[:size]) == ROOTS[size]
    assert LOG.root(size) == ROOTS[size]
    assert MerkleLog.from_entries(LEAF_INPUTS[:size]).root() == ROOTS[size]


def test_every_complete_subtree_hashes_to_the_published_node_hash() -> None:
    for level, hashes in enumerate(NODE_HASHES):
        width = 1 << level
        for i, want in enumerate(hashes):
            assert root(LEAF_INPUTS[i * width : (i + 1) * width]) == want, (level, i)


@pytest.mark.parametrize(("leaf", "size", "path"), INCLUSION_VECTORS, ids=[f"leaf{v[0]}-of-{v[1]}" for v in INCLUSION_VECTORS])
def test_inclusion_proofs_are_the_published_paths_and_verify(leaf: int, size: int, path: list[bytes]) -> None:
    index = leaf - 1
    assert inclusion_proof(index, LEAF_INPUTS[:size]) == path
    assert LOG.inclusion_proof(index, size) == path
    assert verify_inclusion(leaf_hash(LEAF_INPUTS[index]), index, size, path, ROOTS[size])


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_VECTORS, ids=[f"{v[0]}-to-{v[1]}" for v in CONSISTENCY_VECTORS])
def test_consistency_proofs_are_the_published_proofs_and_verify(first: int, second: int, proof: list[bytes]) -> None:
    assert consistency_proof(first, LEAF_INPUTS[:second]) == proof
    assert LOG.consistency_proof(first, second) == proof
    assert verify_consistency(first, second, proof, ROOTS[first], ROOTS[second])


def test_every_inclusion_and_consistency_proof_over_the_vector_leaves_verifies() -> None:
    for size in range(1, 9):
        for index in range(size):
            path = LOG.inclusion_proof(index, size)
            assert path == inclusion_proof(index, LEAF_INPUTS[:size])
            assert verify_inclusion(leaf_hash(LEAF_INPUTS[index]), index, size, path, ROOTS[size]), (index, size)
        for first in range(0, size + 1):
            proof = LOG.consistency_proof(first, size)
            assert proof == consistency_proof(first, LEAF_INPUTS[:size])
            assert verify_consistency(first, size, proof, ROOTS[first], ROOTS[size]), (first, size)


# --- forged inclusion proofs ---------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    leaf: bytes
    index: int
    size: int
    path: list[bytes]
    root: bytes


def _flip(data: bytes, at: int = 0, bit: int = 3) -> bytes:
    out = bytearray(data)
    out[at] ^= 1 << bit
    return bytes(out)


def _honest(index: int, size: int) -> Claim:
    return Claim(leaf_hash(LEAF_INPUTS[index]), index, size, LOG.inclusion_proof(index, size), ROOTS[size])


def _with(c: Claim, **changes: object) -> Claim:
    return Claim(**{**c.__dict__, **changes})  # type: ignore[arg-type]


SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")

# (name, forgery, the failure every forgery of that kind must produce, or None for "any")
FORGED_INCLUSION: list[tuple[str, Callable[[Claim], Claim], Failure | None]] = [
    ("wrong leaf", lambda c: _with(c, leaf=leaf_hash(b"not the entry")), Failure.ROOT_MISMATCH),
    ("entry hashed without the 0x00 leaf prefix", lambda c: _with(c, leaf=hashlib.sha256(LEAF_INPUTS[c.index]).digest()), Failure.ROOT_MISMATCH),
    ("leaf hash of another entry of the log", lambda c: _with(c, leaf=leaf_hash(LEAF_INPUTS[(c.index + 1) % c.size])), Failure.ROOT_MISMATCH),
    ("index plus one", lambda c: _with(c, index=c.index + 1), None),
    ("index minus one", lambda c: _with(c, index=c.index - 1), None),
    ("index xor two", lambda c: _with(c, index=c.index ^ 2), None),
    ("index equal to the size", lambda c: _with(c, index=c.size), Failure.INDEX_NOT_BELOW_SIZE),
    ("negative index", lambda c: _with(c, index=-1), Failure.SIZE_OUT_OF_RANGE),
    ("size beyond uint64", lambda c: _with(c, size=2**64), Failure.SIZE_OUT_OF_RANGE),
    ("tree size doubled", lambda c: _with(c, size=c.size * 2), None),
    ("tree size halved", lambda c: _with(c, size=c.size // 2), None),
    ("truncated path", lambda c: _with(c, path=c.path[:-1]), Failure.PATH_TOO_SHORT),
    ("path missing its first element", lambda c: _with(c, path=c.path[1:]), Failure.PATH_TOO_SHORT),
    ("path extended with the root", lambda c: _with(c, path=[*c.path, c.root]), Failure.PATH_TOO_LONG),
    ("path extended with a random hash", lambda c: _with(c, path=[*c.path, SOME_HASH]), Failure.PATH_TOO_LONG),
    ("path with an element prepended", lambda c: _with(c, path=[SOME_HASH, *c.path]), Failure.PATH_TOO_LONG),
    ("path with an element inserted", lambda c: _with(c, path=[c.path[0], SOME_HASH, *c.path[1:]]), Failure.PATH_TOO_LONG),
    ("swapped siblings", lambda c: _with(c, path=[c.path[1], c.path[0], *c.path[2:]]), Failure.ROOT_MISMATCH),
    ("path in reverse order", lambda c: _with(c, path=c.path[::-1]), Failure.ROOT_MISMATCH),
    ("first sibling with a flipped bit", lambda c: _with(c, path=[_flip(c.path[0]), *c.path[1:]]), Failure.ROOT_MISMATCH),
    ("last sibling with a flipped bit", lambda c: _with(c, path=[*c.path[:-1], _flip(c.path[-1], 31, 7)]), Failure.ROOT_MISMATCH),
    ("empty-tree root", lambda c: _with(c, root=EMPTY_ROOT), Failure.ROOT_MISMATCH),
    ("root of a smaller tree", lambda c: _with(c, root=ROOTS[c.size - 1]), Failure.ROOT_MISMATCH),
    ("random root", lambda c: _with(c, root=SOME_HASH), Failure.ROOT_MISMATCH),
    ("truncated sibling hash", lambda c: _with(c, path=[c.path[0][:31], *c.path[1:]]), Failure.MALFORMED_HASH),
    ("empty sibling hash", lambda c: _with(c, path=[b"", *c.path[1:]]), Failure.MALFORMED_HASH),
    ("overlong leaf hash", lambda c: _with(c, leaf=c.leaf + b"\x00"), Failure.MALFORMED_HASH),
]

# Honest claims with paths of at least two distinct elements, so every forgery applies.
INCLUSION_BASES = [(0, 8), (5, 8), (1, 5), (4, 6), (2, 6), (6, 7), (3, 8)]


@pytest.mark.parametrize("base", INCLUSION_BASES, ids=[f"leaf{i}-of-{n}" for i, n in INCLUSION_BASES])
@pytest.mark.parametrize(("name", "forge", "failure"), FORGED_INCLUSION, ids=[f[0] for f in FORGED_INCLUSION])
def test_every_forged_inclusion_proof_is_rejected(
    name: str, forge: Callable[[Claim], Claim], failure: Failure | None, base: tuple[int, int]
) -> None:
    honest = _honest(*base)
    assert verify_inclusion(honest.leaf, honest.index, honest.size, honest.path, honest.root)
    forged = forge(honest)
    assert forged != honest
    verdict = verify_inclusion(forged.leaf, forged.index, forged.size, forged.path, forged.root)
    assert not verdict, name
    assert verdict.failure is not None and verdict.clause.startswith("RFC 9162")
    if failure is not None:
        assert verdict.failure == failure


def test_a_proof_pins_the_size_only_through_its_shape_so_size_and_root_must_come_from_one_checkpoint() -> None:
    """Why every proof is checked against a signed checkpoint's size and root together.

    Leaf 1's path has the same shape in trees of 5 to 8 leaves (its left four-leaf subtree
    is complete in all of them), so the same path and root verify for any of those sizes:
    the algorithm checks the path against (size, root) as a pair and cannot know which size
    a bare root belongs to. A checkpoint signs both, so a verifier that takes size and root
    from one verified checkpoint is not fooled; sizes that change the path's length are
    rejected by the algorithm itself.
    """
    honest = _honest(1, 5)
    for size in (6, 7, 8):
        assert verify_inclusion(honest.leaf, 1, size, honest.path, ROOTS[5])
        assert not verify_inclusion(honest.leaf, 1, size, honest.path, ROOTS[size])
    assert verify_inclusion(honest.leaf, 1, 9, honest.path, ROOTS[5]).failure == Failure.PATH_TOO_SHORT
    assert verify_inclusion(honest.leaf, 1, 4, honest.path, ROOTS[5]).failure == Failure.PATH_TOO_LONG
    # The same holds for consistency: 5-to-7 and 5-to-8 proofs have the same shape.
    proof = LOG.consistency_proof(5, 7)
    assert verify_consistency(5, 8, proof, ROOTS[5], ROOTS[7])
    assert not verify_consistency(5, 8, proof, ROOTS[5], ROOTS[8])


def test_a_leaf_built_to_equal_an_interior_node_does_not_verify() -> None:
    """The second-preimage attack: present the 64 bytes of two child hashes as an entry.

    In the four-leaf tree the left child of the root is node(leaf0, leaf1). An attacker
    claims the entry leaf0||leaf1 sits at index 0 of a two-leaf tree with the same root,
    its sibling being the right child. The proof has exactly the right shape: with the
    interior node itself as the leaf it verifies. Only the 0x00/0x01 prefixes stop it.
    """
    entries = LEAF_INPUTS[:4]
    leaf0, leaf1 = leaf_hash(entries[0]), leaf_hash(entries[1])
    right_child = node_hash(leaf_hash(entries[2]), leaf_hash(entries[3]))
    forged_entry = leaf0 + leaf1
    assert len(forged_entry) == 64

    assert verify_inclusion(node_hash(leaf0, leaf1), 0, 2, [right_child], ROOTS[4])  # the shape is right
    verdict = verify_inclusion(leaf_hash(forged_entry), 0, 2, [right_child], ROOTS[4])
    assert not verdict and verdict.failure == Failure.ROOT_MISMATCH
    assert leaf_hash(forged_entry) != node_hash(leaf0, leaf1)
    # Nor does the forged entry prove anything in the honest four-leaf tree.
    assert not verify_inclusion(leaf_hash(forged_entry), 0, 4, LOG.inclusion_proof(0, 4), ROOTS[4])
    # And a tree built over the forged entry has a different root from the honest one.
    assert root([forged_entry, entries[2] + entries[3]]) != ROOTS[4]


def test_a_single_leaf_tree_needs_an_empty_path_and_the_leaf_as_root() -> None:
    leaf = leaf_hash(b"data")
    assert verify_inclusion(leaf, 0, 1, [], leaf)
    assert verify_inclusion(leaf, 0, 1, [leaf], leaf).failure == Failure.PATH_TOO_LONG
    assert verify_inclusion(leaf, 0, 1, [], SOME_HASH).failure == Failure.ROOT_MISMATCH
    assert verify_inclusion(leaf, 0, 0, [], EMPTY_ROOT).failure == Failure.INDEX_NOT_BELOW_SIZE
    assert verify_inclusion(leaf, 1, 1, [], leaf).failure == Failure.INDEX_NOT_BELOW_SIZE


def test_a_failed_verdict_raises_a_proof_error_naming_the_rfc_step() -> None:
    honest = _honest(5, 8)
    verdict = verify_inclusion(honest.leaf, honest.index, honest.size, honest.path[:-1], honest.root)
    with pytest.raises(ProofError) as caught:
        verdict.raise_for_failure()
    assert caught.value.failure == Failure.PATH_TOO_SHORT
    assert "RFC 9162 §2.1.3.2 step 5" in str(caught.value)
    verify_inclusion(honest.leaf, honest.index, honest.size, honest.path, honest.root).raise_for_failure()


# --- forged consistency proofs -------------------------------------------------------------


@dataclass(frozen=True)
class Consistency:
    first: int
    second: int
    proof: list[bytes]
    first_root: bytes
    second_root: bytes


def _honest_consistency(first: int, second: int) -> Consistency:
    return Consistency(first, second, LOG.consistency_proof(first, second), ROOTS[first], ROOTS[second])


def _cwith(c: Consistency, **changes: object) -> Consistency:
    return Consistency(**{**c.__dict__, **changes})  # type: ignore[arg-type]


ALTERED = MerkleLog.from_entries([LEAF_INPUTS[0], b"altered", *LEAF_INPUTS[2:]])
"""The vector log with entry 1 changed after the fact."""

# A root mismatch shows at the earlier or the later root depending on whether the earlier size is a
# power of two (then the RFC starts from the earlier root itself, step 2), so both are allowed there.
ROOTS_DIFFER = (Failure.FIRST_ROOT_MISMATCH, Failure.SECOND_ROOT_MISMATCH)
ANY: tuple[Failure, ...] = ()

# (name, forgery, the failures allowed, or ANY)
FORGED_CONSISTENCY: list[tuple[str, Callable[[Consistency], Consistency], tuple[Failure, ...]]] = [
    ("first size minus one", lambda c: _cwith(c, first=c.first - 1, first_root=ROOTS[c.first - 1]), ANY),
    ("first size plus one", lambda c: _cwith(c, first=c.first + 1), ANY),
    ("first size xor two", lambda c: _cwith(c, first=c.first ^ 2), ANY),
    ("second size doubled", lambda c: _cwith(c, second=c.second * 2), ANY),
    ("sizes swapped", lambda c: _cwith(c, first=c.second, second=c.first), (Failure.SIZES_OUT_OF_ORDER,)),
    ("proof for other sizes", lambda c: _cwith(c, proof=LOG.consistency_proof(c.first - 1, c.second)), ANY),
    ("wrong first root", lambda c: _cwith(c, first_root=SOME_HASH), ROOTS_DIFFER),
    ("wrong second root", lambda c: _cwith(c, second_root=SOME_HASH), (Failure.SECOND_ROOT_MISMATCH,)),
    ("roots swapped", lambda c: _cwith(c, first_root=c.second_root, second_root=c.first_root), ROOTS_DIFFER),
    ("empty proof", lambda c: _cwith(c, proof=[]), (Failure.EMPTY_PATH,)),
    ("truncated proof", lambda c: _cwith(c, proof=c.proof[:-1]), ANY),
    ("proof extended with the first root", lambda c: _cwith(c, proof=[*c.proof, c.first_root]), (Failure.PATH_TOO_LONG,)),
    ("proof extended with the second root", lambda c: _cwith(c, proof=[*c.proof, c.second_root]), (Failure.PATH_TOO_LONG,)),
    ("proof with its first element repeated", lambda c: _cwith(c, proof=[c.proof[0], *c.proof]), (Failure.PATH_TOO_LONG,)),
    ("first element with a flipped bit", lambda c: _cwith(c, proof=[_flip(c.proof[0], 0, 4), *c.proof[1:]]), ROOTS_DIFFER),
    ("last element with a flipped bit", lambda c: _cwith(c, proof=[*c.proof[:-1], _flip(c.proof[-1], 31, 4)]), ROOTS_DIFFER),
    ("swapped elements", lambda c: _cwith(c, proof=[c.proof[1], c.proof[0], *c.proof[2:]]), ROOTS_DIFFER),
    ("truncated element", lambda c: _cwith(c, proof=[c.proof[0][:16], *c.proof[1:]]), (Failure.MALFORMED_HASH,)),
    (
        "the later tree altered before the earlier size",
        lambda c: _cwith(c, proof=ALTERED.consistency_proof(c.first, c.second), second_root=ALTERED.root(c.second)),
        ROOTS_DIFFER,
    ),
    (
        "the earlier tree was altered",
        lambda c: _cwith(c, first_root=ALTERED.root(c.first), proof=ALTERED.consistency_proof(c.first, c.second)),
        (Failure.SECOND_ROOT_MISMATCH,),
    ),
]

# Honest proofs whose earlier tree holds the altered entry 1 and whose proof has two or more elements;
# 2-to-5 and 2-to-8 start from a power of two, where the RFC prepends the earlier root (step 2).
CONSISTENCY_BASES = [(3, 8), (6, 8), (5, 7), (2, 8), (3, 5), (6, 7), (2, 5)]


@pytest.mark.parametrize("base", CONSISTENCY_BASES, ids=[f"{m}-to-{n}" for m, n in CONSISTENCY_BASES])
@pytest.mark.parametrize(("name", "forge", "allowed"), FORGED_CONSISTENCY, ids=[f[0] for f in FORGED_CONSISTENCY])
def test_every_forged_consistency_proof_is_rejected(
    name: str, forge: Callable[[Consistency], Consistency], allowed: tuple[Failure, ...], base: tuple[int, int]
) -> None:
    honest = _honest_consistency(*base)
    assert len(honest.proof) >= 2
    assert verify_consistency(honest.first, honest.second, honest.proof, honest.first_root, honest.second_root)
    forged = forge(honest)
    assert forged != honest
    verdict = verify_consistency(forged.first, forged.second, forged.proof, forged.first_root, forged.second_root)
    assert not verdict, name
    assert verdict.failure is not None and verdict.clause.startswith("RFC 9162")
    if allowed:
        assert verdict.failure in allowed


def test_a_tree_altered_at_any_earlier_position_cannot_be_proven_consistent() -> None:
    for position in range(8):
        altered = MerkleLog.from_entries([*LEAF_INPUTS[:position], b"changed", *LEAF_INPUTS[position + 1 :]])
        for first in range(position + 1, 8):
            proof = altered.consistency_proof(first, 8)
            assert not verify_consistency(first, 8, proof, ROOTS[first], altered.root(8)), (position, first)
            honest = LOG.consistency_proof(first, 8)
            assert not verify_consistency(first, 8, honest, ROOTS[first], altered.root(8)), (position, first)


# (name, first, second, proof, first root, second root, expected failure or None when it holds)
TRIVIAL_CONSISTENCY = [
    ("empty to empty holds", 0, 0, [], EMPTY_ROOT, EMPTY_ROOT, None),
    ("empty to any size holds with an empty proof", 0, 5, [], EMPTY_ROOT, ROOTS[5], None),
    ("from the empty tree the proof must be empty", 0, 5, [ROOTS[5]], EMPTY_ROOT, ROOTS[5], Failure.UNEXPECTED_PATH),
    ("a size-0 checkpoint must carry the empty root", 0, 5, [], SOME_HASH, ROOTS[5], Failure.FIRST_ROOT_MISMATCH),
    ("equal sizes with equal roots hold", 5, 5, [], ROOTS[5], ROOTS[5], None),
    ("equal sizes with different roots fail", 5, 5, [], ROOTS[5], SOME_HASH, Failure.SECOND_ROOT_MISMATCH),
    ("equal sizes with a proof fail", 5, 5, [ROOTS[5]], ROOTS[5], ROOTS[5], Failure.UNEXPECTED_PATH),
    ("a shrinking log fails", 5, 4, [], ROOTS[5], ROOTS[4], Failure.SIZES_OUT_OF_ORDER),
    ("different sizes with no proof fail", 1, 2, [], ROOTS[1], ROOTS[2], Failure.EMPTY_PATH),
    ("the later root is no proof", 4, 8, [ROOTS[8]], ROOTS[4], ROOTS[8], Failure.SECOND_ROOT_MISMATCH),
    ("a proof too short for the sizes fails", 3, 8, [ROOTS[8]], ROOTS[3], ROOTS[8], Failure.PATH_TOO_SHORT),
]


@pytest.mark.parametrize(
    ("name", "first", "second", "proof", "first_root", "second_root", "failure"),
    TRIVIAL_CONSISTENCY,
    ids=[t[0] for t in TRIVIAL_CONSISTENCY],
)
def test_consistency_at_the_edges(
    name: str, first: int, second: int, proof: list[bytes], first_root: bytes, second_root: bytes, failure: Failure | None
) -> None:
    verdict = verify_consistency(first, second, proof, first_root, second_root)
    assert verdict.ok is (failure is None)
    assert verdict.failure == failure


# --- the incremental log -------------------------------------------------------------------


def test_appending_one_leaf_at_a_time_gives_every_published_root_and_consistent_checkpoints() -> None:
    log = MerkleLog()
    assert log.root() == EMPTY_ROOT
    previous = (0, EMPTY_ROOT)
    for i, entry in enumerate(LEAF_INPUTS):
        assert log.append_entry(entry) == i
        assert log.root() == ROOTS[i + 1]
        proof = log.consistency_proof(previous[0])
        assert verify_consistency(previous[0], log.size, proof, previous[1], log.root())
        previous = (log.size, log.root())


def test_appending_a_leaf_hashes_only_the_subtrees_it_completes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = merkle.node_hash

    def counting(left: bytes, right: bytes) -> bytes:
        nonlocal calls
        calls += 1
        return real(left, right)

    monkeypatch.setattr(merkle, "node_hash", counting)
    n = 1000
    log = MerkleLog(leaf_hash(i.to_bytes(4, "big")) for i in range(n))
    # One stored node per completed subtree: n - popcount(n) in all, fewer than one per leaf.
    assert calls == n - bin(n).count("1")

    calls = 0
    log.append(leaf_hash(b"one more"))  # 1001 = 0b1111101001: completes no pair
    assert calls == 0
    calls = 0
    log.append(leaf_hash(b"and another"))  # 1002: completes one pair
    assert calls == 1

    calls = 0
    log.root(999)  # 999 = 0b1111100111: eight stored subtrees joined by seven hashes
    assert calls == bin(999).count("1") - 1
    calls = 0
    log.inclusion_proof(500, 999)
    assert calls <= (999).bit_length() ** 2


def test_the_log_refuses_sizes_and_indices_it_does_not_have() -> None:
    with pytest.raises(ValueError):
        LOG.root(9)
    with pytest.raises(ValueError):
        LOG.inclusion_proof(8)
    with pytest.raises(ValueError):
        LOG.inclusion_proof(3, 3)
    with pytest.raises(ValueError):
        LOG.consistency_proof(5, 4)
    with pytest.raises(ValueError):
        LOG.append(b"not a hash")
    with pytest.raises(ValueError):
        inclusion_proof(0, [])


# --- naming the first position that differs ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "left", "right", "expected"),
    [
        ("identical logs", LEAF_INPUTS, LEAF_INPUTS, None),
        ("both empty", [], [], None),
        ("first entry changed", [b"x", *LEAF_INPUTS[1:]], LEAF_INPUTS, 0),
        ("last entry changed", [*LEAF_INPUTS[:7], b"x"], LEAF_INPUTS, 7),
        ("middle entry changed", [*LEAF_INPUTS[:5], b"x", *LEAF_INPUTS[6:]], LEAF_INPUTS, 5),
        ("an entry deleted", [*LEAF_INPUTS[:3], *LEAF_INPUTS[4:]], LEAF_INPUTS, 3),
        ("two entries reordered", [*LEAF_INPUTS[:4], LEAF_INPUTS[5], LEAF_INPUTS[4], *LEAF_INPUTS[6:]], LEAF_INPUTS, 4),
        ("truncated", LEAF_INPUTS[:6], LEAF_INPUTS, 6),
        ("extended", [*LEAF_INPUTS, b"more"], LEAF_INPUTS, 8),
        ("one empty", [], LEAF_INPUTS, 0),
    ],
)
def test_the_first_differing_position_is_named(name: str, left: list[bytes], right: list[bytes], expected: int | None) -> None:
    assert first_difference(left, right) == expected
    assert first_difference(right, left) == expected
    a, b = MerkleLog.from_entries(left), MerkleLog.from_entries(right)
    assert a.first_difference(b) == expected
    assert b.first_difference(a) == expected


# --- properties over random logs -----------------------------------------------------------

entries_st = st.lists(st.binary(max_size=12), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(entries=entries_st)
def test_the_incremental_log_agrees_with_the_rfc_definitions_at_every_size(entries: list[bytes]) -> None:
    log = MerkleLog.from_entries(entries)
    for size in range(len(entries) + 1):
        assert log.root(size) == root(entries[:size])


@settings(max_examples=60, deadline=None)
@given(entries=entries_st)
def test_every_inclusion_proof_in_a_random_log_verifies(entries: list[bytes]) -> None:
    log = MerkleLog.from_entries(entries)
    n = len(entries)
    for index in range(n):
        path = log.inclusion_proof(index)
        assert path == inclusion_proof(index, entries)
        assert verify_inclusion(leaf_hash(entries[index]), index, n, path, log.root())


@settings(max_examples=80, deadline=None)
@given(entries=entries_st, data=st.data())
def test_every_consistency_proof_between_random_sizes_verifies(entries: list[bytes], data: st.DataObject) -> None:
    log = MerkleLog.from_entries(entries)
    second = data.draw(st.integers(0, len(entries)), label="second")
    first = data.draw(st.integers(0, second), label="first")
    proof = log.consistency_proof(first, second)
    assert proof == consistency_proof(first, entries[:second])
    assert verify_consistency(first, second, proof, log.root(first), log.root(second))


def _flip_any(values: Sequence[bytes], data: st.DataObject) -> list[bytes]:
    which = data.draw(st.integers(0, len(values) - 1), label="element")
    at = data.draw(st.integers(0, len(values[which]) - 1), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    out = list(values)
    out[which] = _flip(out[which], at, bit)
    return out


@settings(max_examples=150, deadline=None)
@given(entries=st.lists(st.binary(max_size=8), min_size=2, max_size=40), data=st.data())
def test_flipping_any_bit_of_an_inclusion_proof_breaks_it(entries: list[bytes], data: st.DataObject) -> None:
    log = MerkleLog.from_entries(entries)
    index = data.draw(st.integers(0, len(entries) - 1), label="index")
    leaf, path, top = leaf_hash(entries[index]), log.inclusion_proof(index), log.root()
    part = data.draw(st.sampled_from(["leaf", "path", "root"]), label="part")
    if part == "leaf":
        leaf = _flip_any([leaf], data)[0]
    elif part == "path":
        path = _flip_any(path, data)
    else:
        top = _flip_any([top], data)[0]
    assert not verify_inclusion(leaf, index, len(entries), path, top)


@settings(max_examples=150, deadline=None)
@given(entries=st.lists(st.binary(max_size=8), min_size=2, max_size=40), data=st.data())
def test_flipping_any_bit_of_a_consistency_proof_breaks_it(entries: list[bytes], data: st.DataObject) -> None:
    log = MerkleLog.from_entries(entries)
    second = data.draw(st.integers(2, len(entries)), label="second")
    first = data.draw(st.integers(1, second - 1), label="first")
    proof, first_root, second_root = log.consistency_proof(first, second), log.root(first), log.root(second)
    part = data.draw(st.sampled_from(["proof", "first root", "second root"]), label="part")
    if part == "proof":
        proof = _flip_any(proof, data)
    elif part == "first root":
        first_root = _flip_any([first_root], data)[0]
    else:
        second_root = _flip_any([second_root], data)[0]
    assert not verify_consistency(first, second, proof, first_root, second_root)


@settings(max_examples=100, deadline=None)
@given(entries=st.lists(st.binary(max_size=8), min_size=1, max_size=64), data=st.data())
def test_the_first_changed_entry_of_a_random_log_is_found(entries: list[bytes], data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(entries) - 1), label="position")
    changed = [*entries[:position], entries[position] + b"!", *entries[position + 1 :]]
    tail = data.draw(st.lists(st.binary(max_size=4), max_size=3), label="tail")
    honest, tampered = MerkleLog.from_entries(entries), MerkleLog.from_entries(changed + tail)
    assert honest.first_difference(tampered) == position
    assert tampered.first_difference(honest) == position
    assert first_difference([leaf_hash(e) for e in entries], tampered.leaf_hashes()) == position


@settings(max_examples=60, deadline=None)
@given(entries=entries_st)
def test_the_frontier_gives_the_rfc_root_at_every_size_keeping_a_hash_per_set_bit(entries: list[bytes]) -> None:
    frontier = merkle.Frontier()
    assert frontier.root() == root([])
    for size, entry in enumerate(entries, start=1):
        frontier.append(leaf_hash(entry))
        assert frontier.root() == root(entries[:size])
        assert len(frontier._subtrees) == bin(size).count("1")  # noqa: SLF001 - its memory is the claim
