"""Proofs from the tamper-evident log, for the API and the pages: who gets which, decided once.

**One log, proofs kept within each cooperation area.** A hub serving several areas keeps
one log over every stored fact, one tree and one signing key. Checkpoints and consistency
proofs are sizes and hashes only and are given to every signed-in caller; an inclusion
proof also shows its record's clear columns (id, version, type: for a child's fact, the
child's id), so :func:`consent.proofs.may_prove` decides who gets one, and this module
answers every refusal that depends on the position exactly as a position the log does not
hold (the same 404 problem), so asking tells nothing about what lies there.

Why not a log per area: a leaf commits to the stored bytes (:mod:`hub.tlog.leaves`), and
the area of a record is inside its sealed state, so sorting leaves into areas would need
the keys, and ``backa audit verify`` (which runs on the database and the verifier key
alone) could no longer rebuild the trees; once a child is erased by destroying its key,
its records' area could not be read back from the log at all. Per-area trees would also
change every signed checkpoint and the record kept beside them. What one area learns from
the shared log is its size over time and its hashes, which the README names.

To tell a position's area, the record is read and opened with the hub's keys; a record no
key opens any more (its child erased) takes the area of the recorded erasure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError

from consent.proofs import (
    FAMILY,
    LeafFacts,
    ProofAnswer,
    ProofAsker,
    ProofDecision,
    may_check_the_log,
    may_prove,
)
from contracts.events import ErasedFact, InformationAccessed
from hub.application.hub import BackaHub
from hub.application.readmodels import FamilyAccessEntry
from hub.domain.child import Recorded
from hub.errors import HubError, NotPermittedError, StoreUnavailableError
from hub.identity.principals import Principal
from hub.tlog.checkpoint import VerifierKey
from hub.tlog.errors import PositionNotFoundError, TransparencyError
from hub.tlog.proof_document import ProofProblem, ProofVerdict, check_document, proof_document
from hub.tlog.service import ConsistencyProof, InclusionProof, TransparencyLog
from hub.tlog.store import SignedCheckpoint
from hub.tlog.verify import LatestVerdict

ABSENT = "the log holds no fact at this position"
"""The detail of every refusal answered as absent: the log's own words for a missing position."""
NOT_FOR_STAFF = "inclusion proofs are for auditors and for the child's family"


def transparency_of(hub: BackaHub) -> TransparencyLog:
    """The hub's log, or a refusal when it keeps none."""
    log = getattr(hub, "transparency", None)
    if log is None:
        raise StoreUnavailableError("this hub keeps no transparency log")
    return log


# -- what lies at a position ------------------------------------------------------------


def leaf_facts(hub: BackaHub, position: int) -> LeafFacts | None:
    """The area, child and kind of the record at ``position``; None when the log holds none."""
    try:
        found = hub.recorder.select_notifications(position, 1, stop=position)
    except (OperationalError, InterfaceError):
        hub.on_store_error()
        raise StoreUnavailableError("the event store cannot be reached") from None
    if not found or found[0].id != position:
        return None
    try:
        fact = cast(Recorded, hub.mapper.to_domain_event(found[0])).fact
    except (ValueError, KeyError, TypeError, UnicodeError):  # unreadable: its area cannot be told
        return LeafFacts(tenant_id=None)
    if isinstance(fact, ErasedFact):
        return LeafFacts(
            tenant_id=_erased_area(hub, fact.child_id),
            child_id=fact.child_id,
            access_read=fact.type_name == InformationAccessed.type_name,
        )
    return LeafFacts(tenant_id=fact.tenant_id, child_id=fact.child_id, access_read=isinstance(fact, InformationAccessed))


def _erased_area(hub: BackaHub, child_id: UUID) -> str | None:
    erasure = hub.views.record.erasure(child_id)
    if erasure is None:
        hub.refresh_views()  # the erasure may be committed and not yet in the view
        erasure = hub.views.record.erasure(child_id)
    return erasure[0] if erasure is not None else None


def _asker(hub: BackaHub, p: Principal) -> ProofAsker:
    children: frozenset[UUID] = frozenset()
    if p.kind in FAMILY:
        children = frozenset(c.child_id for c in hub.family_children(p))
    return ProofAsker(p.kind, p.tenant_id, children)


def _shown_positions(hub: BackaHub, p: Principal, children: frozenset[UUID]) -> frozenset[int]:
    """The positions of the entries the core shows ``p`` in their children's access logs.

    Each is a recorded read of a child's access log, so it is done for every child of the
    family before the position is looked at: what gets recorded must not depend on what
    lies at the position, or the family's own access log would tell them which positions
    are reads of their child kept from them.
    """
    shown: set[int] = set()
    for child_id in sorted(children):
        try:
            shown.update(e.position for e in hub.family_access_log(p, child_id))
        except StoreUnavailableError:
            raise
        except HubError:
            continue
    return frozenset(shown)


def decide_inclusion(hub: BackaHub, p: Principal, position: int) -> ProofDecision:
    """Gather what the policy needs about ``position`` and ask it."""
    asker = _asker(hub, p)
    shown = _shown_positions(hub, p, asker.children) if p.kind in FAMILY else frozenset()
    leaf = leaf_facts(hub, position)
    if leaf is not None and position in shown:
        leaf = replace(leaf, shown_to_family=True)
    return may_prove(asker, leaf)


def _enforce(decision: ProofDecision) -> None:
    if decision.answer is ProofAnswer.NOT_PERMITTED:
        raise NotPermittedError(NOT_FOR_STAFF, field="position")
    if decision.answer is ProofAnswer.AS_ABSENT:
        raise PositionNotFoundError(ABSENT, field="position")


# -- proofs -------------------------------------------------------------------------------


def prove_inclusion(hub: BackaHub, p: Principal, position: int, tree_size: int | None = None) -> InclusionProof:
    """The inclusion proof of ``position`` (to the checkpoint of ``tree_size``, or the latest
    that holds it) if ``p`` may have it; otherwise the answer for a position not in the log."""
    log = transparency_of(hub)
    _enforce(decide_inclusion(hub, p, position))
    return log.inclusion(position, tree_size)


@dataclass(frozen=True)
class ShownEntry:
    """One entry of a family's access log with its inclusion proof (None: none can be shown now)."""

    entry: FamilyAccessEntry
    proof: InclusionProof | None


def family_access_log_with_proofs(hub: BackaHub, p: Principal, child_id: UUID) -> list[ShownEntry]:
    """The child's access log as the core shows it to ``p`` (one recorded read), each entry
    with its proof when the policy gives one and the log can prove it."""
    entries = hub.family_access_log(p, child_id)
    log = getattr(hub, "transparency", None)
    asker = _asker(hub, p) if log is not None else None
    return [ShownEntry(e, _proof_of_shown(log, asker, p, child_id, e)) for e in entries]


def _proof_of_shown(
    log: TransparencyLog | None, asker: ProofAsker | None, p: Principal, child_id: UUID, entry: FamilyAccessEntry
) -> InclusionProof | None:
    if log is None or asker is None:
        return None
    leaf = LeafFacts(tenant_id=p.tenant_id, child_id=child_id, access_read=True, shown_to_family=True)
    if not may_prove(asker, leaf).allowed:
        return None
    try:
        return log.inclusion(entry.position)
    except TransparencyError:
        return None


def family_proof(hub: BackaHub, p: Principal, child_id: UUID, position: int) -> tuple[dict[str, Any], ProofVerdict]:
    """The proof of one entry of the child's access log as a document the family can keep,
    and the hub's own check of it against the latest signed checkpoint with its key. A
    position that is not a shown entry of this child is answered as one the log does not hold."""
    log = transparency_of(hub)
    shown = [e for e in hub.family_access_log(p, child_id) if e.position == position]
    proof = _proof_of_shown(log, _asker(hub, p), p, child_id, shown[0]) if shown else None
    if proof is None:
        raise PositionNotFoundError(ABSENT, field="position")
    document = proof_document(proof, log.verifier(), log.origin)
    return document, check_document(document, log.verifier(), log.origin)


def check_proof(hub: BackaHub, document: object) -> ProofVerdict:
    """A kept proof document checked with the hub's own key and origin (never the document's)."""
    log = transparency_of(hub)
    return check_document(document, log.verifier(), log.origin)


def check_family_proof(hub: BackaHub, p: Principal, child_id: UUID, document: object) -> ProofVerdict:
    """A proof pasted on the child's page holds only for a read of this child shown to the
    family: one of another child's (or any other entry of the log) is not verified here."""
    verdict = check_proof(hub, document)
    if verdict.holds and not any(e.position == verdict.position for e in hub.family_access_log(p, child_id)):
        return replace(verdict, problem=ProofProblem.NOT_THIS_CHILD)
    return verdict


def checkpoint(hub: BackaHub, size: int | None = None) -> SignedCheckpoint:
    """The latest signed checkpoint (signing one if none was yet), or the one of ``size``:
    sizes and hashes of the whole log, for every signed-in caller."""
    return transparency_of(hub).checkpoint(size)


def verifier_key(hub: BackaHub) -> VerifierKey:
    return transparency_of(hub).verifier()


def prove_consistency(hub: BackaHub, first: int, second: int | None = None) -> ConsistencyProof:
    """RFC 9162 §2.1.4 between two sizes of the whole log: hashes only, for every signed-in caller."""
    return transparency_of(hub).consistency(first, second)


# -- the auditors' check of the log --------------------------------------------------------


@dataclass(frozen=True)
class LogStatus:
    """The latest checkpoint and whether the stored log still hashes to its root."""

    kept: bool
    origin: str | None = None
    verifier_key: str | None = None
    latest: SignedCheckpoint | None = None
    problem: str | None = None
    verdict: LatestVerdict | None = None


def log_status(hub: BackaHub, p: Principal) -> LogStatus:
    """For the auditors' page: the latest checkpoint's root recomputed from the stored records
    (read incrementally, each visit only what was stored since; see :class:`CachedAudit`), auditors only."""
    if not may_check_the_log(p.kind):
        raise NotPermittedError("only an auditor may check the log")
    log = getattr(hub, "transparency", None)
    if log is None:
        return LogStatus(kept=False)
    key = log.verifier()
    try:
        latest = log.newest()
    except HubError as e:
        return LogStatus(True, log.origin, key.encode(), problem=e.detail)
    if latest is None:
        return LogStatus(True, log.origin, key.encode())
    return LogStatus(True, log.origin, key.encode(), latest, verdict=log.audit.verify(log.recorder, latest, key))


__all__ = [
    "ABSENT",
    "LogStatus",
    "ShownEntry",
    "check_family_proof",
    "check_proof",
    "checkpoint",
    "decide_inclusion",
    "family_proof",
    "family_access_log_with_proofs",
    "leaf_facts",
    "log_status",
    "prove_consistency",
    "prove_inclusion",
    "transparency_of",
    "verifier_key",
]
