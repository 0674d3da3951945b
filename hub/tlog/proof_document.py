"""An inclusion proof as a document anyone can keep and check, and the check itself.

A family downloads the proof of one entry of their child's access log as JSON and can
check it without the hub: the signed checkpoint's signature with the published verifier
key, the leaf hash recomputed from the entry's clear columns (:mod:`hub.tlog.leaves`), and
the audit path from that leaf to the checkpoint's root (RFC 9162 §2.1.3.2). The hub runs
the same check on its own proofs and on a document pasted back to it, always with its own
key and origin, never with the key a document carries (a forged document would carry a
forged key).

Pure: a document and a key in, a verdict out.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from enum import Enum
from typing import Any

from hub.tlog.checkpoint import NoteError, VerifierKey, verify_checkpoint
from hub.tlog.leaves import LeafEntry
from hub.tlog.merkle import verify_inclusion
from hub.tlog.service import InclusionProof

FORMAT = "backa-inclusion-proof/1"


class ProofProblem(str, Enum):
    """Why a proof document does not hold, in the order the check finds it."""

    MALFORMED = "malformed"
    """Not a proof document: a field is missing or of the wrong kind."""
    SIGNATURE = "signature"
    """The checkpoint is not signed by the hub's key for this log."""
    SIZE = "size"
    """The document's tree size is not the signed checkpoint's."""
    ENTRY = "entry"
    """The leaf hash is not the hash of the entry the document names."""
    PATH = "path"
    """The audit path does not lead from the leaf to the signed root."""
    NOT_THIS_CHILD = "not_this_child"
    """The proof holds, but for an entry that is not one of this child's shown reads: a
    proof handed over from another family's log proves nothing about this child's."""


@dataclass(frozen=True)
class ProofVerdict:
    problem: ProofProblem | None = None
    position: int | None = None
    tree_size: int | None = None
    record_id: str | None = None

    @property
    def holds(self) -> bool:
        return self.problem is None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def proof_document(proof: InclusionProof, key: VerifierKey, origin: str) -> dict[str, Any]:
    """The proof as JSON: everything the check needs, and the key to check it with."""
    return {
        "format": FORMAT,
        "position": proof.position,
        "leaf_index": proof.leaf_index,
        "tree_size": proof.checkpoint.size,
        "entry": proof.entry.as_json(),
        "leaf_hash": _b64(proof.leaf_hash),
        "audit_path": [_b64(h) for h in proof.audit_path],
        "checkpoint": proof.checkpoint.note,
        "origin": origin,
        "verifier_key": key.encode(),
        "how_to_check": (
            "1. Check the checkpoint's signature with the verifier key (C2SP signed-note) and read its size and root. "
            "2. The leaf hash is SHA-256(0x00 || entry), the entry encoded as in the hub's hub/tlog/leaves.py. "
            "3. Run RFC 9162 section 2.1.3.2 with leaf_index, tree_size and audit_path: it must end at the root."
        ),
    }


def check_document(document: object, key: VerifierKey, origin: str) -> ProofVerdict:
    """Does the document prove its entry is in the log ``key`` signs for ``origin``?"""
    if not isinstance(document, dict):
        return ProofVerdict(ProofProblem.MALFORMED)
    d = document
    try:
        index, size = d["leaf_index"], d["tree_size"]
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (index, size, d["position"])):
            return ProofVerdict(ProofProblem.MALFORMED)
        entry = LeafEntry.from_json(d["entry"])
        leaf = base64.b64decode(d["leaf_hash"], validate=True)
        path = [base64.b64decode(h, validate=True) for h in d["audit_path"]]
        note = d["checkpoint"]
        if not isinstance(note, str) or not isinstance(d["audit_path"], list):
            return ProofVerdict(ProofProblem.MALFORMED)
    except (KeyError, TypeError, ValueError, binascii.Error):
        return ProofVerdict(ProofProblem.MALFORMED)
    found = ProofVerdict(None, d["position"], size, entry.originator_id)
    try:
        checkpoint = verify_checkpoint(note, key, origin)
    except NoteError:
        return ProofVerdict(ProofProblem.SIGNATURE, found.position, size, found.record_id)
    if checkpoint.size != size:
        return ProofVerdict(ProofProblem.SIZE, found.position, size, found.record_id)
    if entry.position != d["position"] or entry.leaf_hash() != leaf:
        return ProofVerdict(ProofProblem.ENTRY, found.position, size, found.record_id)
    if not verify_inclusion(leaf, index, size, path, checkpoint.root_hash).ok:
        return ProofVerdict(ProofProblem.PATH, found.position, size, found.record_id)
    return found


__all__ = ["FORMAT", "ProofProblem", "ProofVerdict", "check_document", "proof_document"]
