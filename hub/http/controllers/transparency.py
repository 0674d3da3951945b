"""The tamper-evident log over HTTP: signed checkpoints, inclusion and consistency proofs.

Checkpoints and consistency proofs hold sizes and hashes only, so every signed-in caller
may have them. An inclusion proof shows the clear columns of one stored record (its
position, id, version and type, never its content): auditors may ask for any position,
a guardian or the child only for the entries of their own child's access log, and every
other position answers the same refusal, so it tells them nothing about other children.
Hashes are standard base64, as in the checkpoint's root line.
"""

from __future__ import annotations

import base64
from typing import Annotated
from uuid import UUID

from litestar import Controller, MediaType, Response
from litestar.params import QueryParameter
from pydantic import BaseModel, ConfigDict, Field

from consent import ViewerKind
from hub.application import BackaHub
from hub.errors import HubError, NotPermittedError, StoreUnavailableError
from hub.http.controllers._base import Caller, Hub, is_family, query
from hub.http.problems import problem_responses
from hub.identity.principals import Principal
from hub.tlog.service import TransparencyLog

MAX_POSITION = 2**63 - 1
"""Positions and sizes are 64-bit signed in the stores (and in the query parser)."""
FAMILY_REFUSAL = "a guardian or a child may ask for proofs of the entries in their own child's access log only"
TEXT = MediaType.TEXT


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LeafEntryOut(_Answer):
    """What the leaf commits to: the stored record's clear columns and the SHA-256 of its state."""

    position: int
    originator_id: str = Field(description="The record's aggregate id; for an access-log entry, its event_id")
    originator_version: int
    topic: str
    state_sha256: str


class InclusionProofOut(_Answer):
    """RFC 9162 §2.1.3: the leaf at ``leaf_index`` is in the tree of ``tree_size`` signed in ``checkpoint``."""

    position: int
    leaf_index: int
    tree_size: int
    leaf_hash: str = Field(description="SHA-256(0x00 || entry), base64")
    audit_path: list[str]
    entry: LeafEntryOut
    checkpoint: str = Field(description="The signed note (C2SP tlog-checkpoint) of size tree_size")


class ConsistencyProofOut(_Answer):
    """RFC 9162 §2.1.4: the tree of size ``first`` is a prefix of the one signed in ``checkpoint``."""

    first: int
    second: int
    proof: list[str]
    checkpoint: str = Field(description="The signed note (C2SP tlog-checkpoint) of size second")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _log(hub: BackaHub) -> TransparencyLog:
    log = getattr(hub, "transparency", None)
    if log is None:
        raise StoreUnavailableError("this hub keeps no transparency log")
    return log  # type: ignore[no-any-return]


def _note(text: str) -> Response[str]:
    return Response(content=text, media_type=TEXT)


def _family_may_prove(hub: BackaHub, caller: Principal, position: int) -> None:
    """Only an entry the family is shown in their own child's access log; the same refusal otherwise."""
    mine = {child["child_id"] for child in hub.family_children(caller)}  # brings the views up to the log first
    with hub.views.access.read() as c:
        c.execute("SELECT child_id FROM access_log WHERE position = ? AND tenant_id = ?", (position, caller.tenant_id))
        row = c.fetchone()
    if row is None or row["child_id"] not in mine:
        raise NotPermittedError(FAMILY_REFUSAL, field="position")
    try:
        shown = hub.family_access_log(caller, UUID(row["child_id"]))
    except StoreUnavailableError:
        raise
    except HubError:
        raise NotPermittedError(FAMILY_REFUSAL, field="position") from None
    if position not in {e["position"] for e in shown}:
        raise NotPermittedError(FAMILY_REFUSAL, field="position")


Size = Annotated[int | None, QueryParameter(ge=0, le=MAX_POSITION, description="The tree size of a signed checkpoint")]


class TransparencyController(Controller):
    path = "/transparency"
    tags = ["audit"]

    @query(
        "/checkpoint",
        media_type=TEXT,
        summary="The latest signed checkpoint of the log, or the one of a given size",
        responses=problem_responses(404, 500),
    )
    def checkpoint(self, hub: Hub, caller: Caller, size: Size = None) -> Response[str]:
        """A C2SP signed note: origin, tree size, base64 root hash, then the hub's Ed25519 signature."""
        return _note(_log(hub).checkpoint(size).note)

    @query("/key", media_type=TEXT, summary="The verifier key the hub signs checkpoints with", responses=problem_responses())
    def key(self, hub: Hub, caller: Caller) -> Response[str]:
        """``<name>+<key id>+<base64 key>`` (C2SP signed-note); compare it with the one published out of band."""
        return _note(_log(hub).verifier().encode() + "\n")

    @query(
        "/inclusion",
        summary="Proof that the fact at a log position is in a signed checkpoint",
        responses=problem_responses(403, 404, 500),
    )
    def inclusion(
        self,
        hub: Hub,
        caller: Caller,
        position: Annotated[int, QueryParameter(ge=1, le=MAX_POSITION, description="A log position, as the access log shows it")],
        tree_size: Annotated[
            int | None,
            QueryParameter(ge=1, le=MAX_POSITION, description="A signed checkpoint's size (default: the latest that holds the position)"),
        ] = None,
    ) -> InclusionProofOut:
        if is_family(caller):
            _family_may_prove(hub, caller, position)
        elif caller.kind is not ViewerKind.AUDITOR:
            raise NotPermittedError("inclusion proofs are for auditors and for the child's family", field="position")
        proof = _log(hub).inclusion(position, tree_size)
        return InclusionProofOut(
            position=proof.position,
            leaf_index=proof.leaf_index,
            tree_size=proof.checkpoint.size,
            leaf_hash=_b64(proof.leaf_hash),
            audit_path=[_b64(h) for h in proof.audit_path],
            entry=LeafEntryOut.model_validate(proof.entry.as_json()),
            checkpoint=proof.checkpoint.note,
        )

    @query(
        "/consistency",
        summary="Proof that a tree of an earlier size is a prefix of a signed checkpoint",
        responses=problem_responses(404, 500),
    )
    def consistency(
        self,
        hub: Hub,
        caller: Caller,
        first: Annotated[int, QueryParameter(ge=0, le=MAX_POSITION, description="The size of the checkpoint you kept")],
        second: Annotated[
            int | None, QueryParameter(ge=0, le=MAX_POSITION, description="A signed checkpoint's size (default: the latest)")
        ] = None,
    ) -> ConsistencyProofOut:
        proof = _log(hub).consistency(first, second)
        return ConsistencyProofOut(
            first=proof.first, second=proof.second, proof=[_b64(h) for h in proof.proof], checkpoint=proof.checkpoint.note
        )


__all__ = ["TransparencyController"]
