"""A proof document as a family downloads it: it holds as the hub gave it, and fails
when any part of it is changed or it is checked with another key."""

from __future__ import annotations

from hub.tlog.checkpoint import Checkpoint, NoteSigner, sign_note
from hub.tlog.leaves import LeafEntry
from hub.tlog.merkle import MerkleLog
from hub.tlog.proof_document import ProofProblem, check_document, proof_document
from hub.tlog.service import InclusionProof
from hub.tlog.store import SignedCheckpoint


def test_a_proof_tampered_anywhere_does_not_hold() -> None:
    """Every part of the document is checked: the entry, the leaf hash, the path, the size, the signature."""
    signer = NoteSigner.generate("test.example/log")
    entries = [LeafEntry(p, f"00000000-0000-4000-8000-00000000000{p}", 1, "InformationAccessed", bytes(32)) for p in range(1, 6)]
    tree = MerkleLog([e.leaf_hash() for e in entries])
    body = Checkpoint("test.example/log", 5, tree.root()).body()
    signed = SignedCheckpoint(sign_note(body, signer), Checkpoint("test.example/log", 5, tree.root()))
    proof = InclusionProof(3, 2, entries[2], entries[2].leaf_hash(), tree.inclusion_proof(2), signed)
    key = signer.verifier()
    good = proof_document(proof, key, "test.example/log")
    assert check_document(good, key, "test.example/log").holds
    other = NoteSigner.generate("test.example/log").verifier()
    cases = {
        ProofProblem.ENTRY: {**good, "entry": {**good["entry"], "originator_id": "00000000-0000-4000-8000-000000000009"}},
        ProofProblem.PATH: {**good, "audit_path": good["audit_path"][::-1]},
        ProofProblem.SIZE: {**good, "tree_size": 4},
        ProofProblem.MALFORMED: {**good, "leaf_hash": "not base64!"},
    }
    for problem, document in cases.items():
        assert check_document(document, key, "test.example/log").problem is problem
    assert check_document(good, other, "test.example/log").problem is ProofProblem.SIGNATURE
    assert check_document([], key, "test.example/log").problem is ProofProblem.MALFORMED
