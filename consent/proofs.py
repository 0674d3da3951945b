"""Who may have an inclusion proof of a log position: a pure decision, no I/O.

The hub keeps one tamper-evident log for every cooperation area it serves (one tree, one
signing key, one run of positions). Checkpoints and consistency proofs hold sizes and
hashes only, so they are shared. An inclusion proof also shows the clear columns of the
record at the position (its id, which for a child's fact is the child's id, its version
and its type), so it is a read of that record's existence and kind, and is decided here.

The rules and what they follow:

- Staff get no inclusion proofs: reading a record's existence across children is audit
  work, not care work (PDL 4 kap. 3 §: the access log is checked by those tasked with it).
- An auditor may have a proof of any fact of their own cooperation area (PDL 4 kap. 3 §,
  GDPR art. 32: the area's auditors follow up its reads and its log).
- A guardian or the child may have a proof of an entry the hub showed them in their own
  child's access log (GDPR art. 15; the consent policy decides what the log shows them).
- Nothing else: a fact of another cooperation area (OSL 10 kap. 1 §: one area's records
  are secret to another), any fact that is not a read of their own child, an entry the
  family was not shown, a position whose area cannot be told, and a position that does
  not exist. All of these are answered alike, as a position that does not exist, so the
  answer tells nothing about what lies at the position.

Fails closed: a rule that does not allow is a refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from uuid import UUID

from consent.policy import ViewerKind

FAMILY = (ViewerKind.GUARDIAN, ViewerKind.CHILD)


class ProofRule(str, Enum):
    """The rule that decided; each names one clause of the module's list."""

    AUDITOR_OF_THE_AREA = "auditor_of_the_area"
    ENTRY_SHOWN_TO_THE_FAMILY = "entry_shown_to_the_family"
    NOT_FOR_STAFF = "not_for_staff"
    NO_SUCH_POSITION = "no_such_position"
    AREA_UNKNOWN = "area_unknown"
    OTHER_AREA = "other_area"
    NOT_AN_ACCESS_LOG_ENTRY = "not_an_access_log_entry"
    NOT_THEIR_CHILD = "not_their_child"
    NOT_SHOWN_TO_THE_FAMILY = "not_shown_to_the_family"


class ProofAnswer(str, Enum):
    """What the asker is told."""

    PROOF = "proof"
    AS_ABSENT = "as_absent"
    """The same answer as for a position the log does not hold."""
    NOT_PERMITTED = "not_permitted"
    """Refused whatever the position: the answer does not depend on it."""


@dataclass(frozen=True)
class ProofAsker:
    """Who asks: their kind and area, and for a family the children they may see."""

    kind: ViewerKind
    tenant_id: str
    children: frozenset[UUID] = frozenset()


@dataclass(frozen=True)
class LeafFacts:
    """What the hub found at the position, as far as the decision needs it.

    ``tenant_id`` is None when the area of the record cannot be told (a record no one can
    read any more and no erasure recorded for it). ``shown_to_family`` is whether the
    core's access log of ``child_id`` showed this entry to the asker.
    """

    tenant_id: str | None
    child_id: UUID | None = None
    access_read: bool = False
    shown_to_family: bool = False


@dataclass(frozen=True)
class ProofDecision:
    answer: ProofAnswer
    rule: ProofRule

    @property
    def allowed(self) -> bool:
        return self.answer is ProofAnswer.PROOF


def _refused(rule: ProofRule) -> ProofDecision:
    return ProofDecision(ProofAnswer.AS_ABSENT, rule)


def may_prove(asker: ProofAsker, leaf: LeafFacts | None) -> ProofDecision:
    """Whether ``asker`` may have the inclusion proof of the record ``leaf`` (None: no record)."""
    if asker.kind is ViewerKind.STAFF:
        return ProofDecision(ProofAnswer.NOT_PERMITTED, ProofRule.NOT_FOR_STAFF)
    if leaf is None:
        return _refused(ProofRule.NO_SUCH_POSITION)
    if leaf.tenant_id is None:
        return _refused(ProofRule.AREA_UNKNOWN)
    if leaf.tenant_id != asker.tenant_id:
        return _refused(ProofRule.OTHER_AREA)
    if asker.kind is ViewerKind.AUDITOR:
        return ProofDecision(ProofAnswer.PROOF, ProofRule.AUDITOR_OF_THE_AREA)
    if asker.kind in FAMILY:
        if not leaf.access_read:
            return _refused(ProofRule.NOT_AN_ACCESS_LOG_ENTRY)
        if leaf.child_id is None or leaf.child_id not in asker.children:
            return _refused(ProofRule.NOT_THEIR_CHILD)
        if not leaf.shown_to_family:
            return _refused(ProofRule.NOT_SHOWN_TO_THE_FAMILY)
        return ProofDecision(ProofAnswer.PROOF, ProofRule.ENTRY_SHOWN_TO_THE_FAMILY)
    return ProofDecision(ProofAnswer.NOT_PERMITTED, ProofRule.NOT_FOR_STAFF)  # pragma: no cover - every kind is above


def may_check_the_log(kind: ViewerKind) -> bool:
    """Whether ``kind`` may have the hub recompute its tree against the latest checkpoint
    (the auditors' page): sizes and hashes only, but the whole log is read, so auditors only."""
    return kind is ViewerKind.AUDITOR


__all__ = ["LeafFacts", "ProofAnswer", "ProofAsker", "ProofDecision", "ProofRule", "may_check_the_log", "may_prove"]
