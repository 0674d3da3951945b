"""The tamper-evident log over HTTP: signed checkpoints, inclusion and consistency proofs.

Checkpoints and consistency proofs hold sizes and hashes only, so every signed-in caller
may have them. An inclusion proof shows the clear columns of one stored record (its
position, id, version and type, never its content); who may have one is decided in
:mod:`hub.application.proofs` (auditors within their cooperation area, a family for the
entries shown in their own child's access log), and every other position is answered as
one the log does not hold. This module only shapes the answers. Hashes are standard
base64, as in the checkpoint's root line.
"""

from __future__ import annotations

import base64
from typing import Annotated

from litestar import Controller, MediaType, Response
from litestar.params import QueryParameter
from pydantic import BaseModel, ConfigDict, Field

from hub.application import proofs
from hub.http.controllers._base import Caller, Hub, query
from hub.http.problems import problem_responses

MAX_POSITION = 2**63 - 1
"""Positions and sizes are 64-bit signed in the stores (and in the query parser)."""
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


def _note(text: str) -> Response[str]:
    return Response(content=text, media_type=TEXT)


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
        return _note(proofs.checkpoint(hub, size).note)

    @query("/key", media_type=TEXT, summary="The verifier key the hub signs checkpoints with", responses=problem_responses())
    def key(self, hub: Hub, caller: Caller) -> Response[str]:
        """``<name>+<key id>+<base64 key>`` (C2SP signed-note); compare it with the one published out of band."""
        return _note(proofs.verifier_key(hub).encode() + "\n")

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
        """For an auditor, any fact of their own cooperation area; for a guardian or the child, an
        entry shown in their own child's access log. Any other position is answered 404 exactly
        as one the log does not hold; staff are answered 403 whatever the position."""
        proof = proofs.prove_inclusion(hub, caller, position, tree_size)
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
        proof = proofs.prove_consistency(hub, first, second)
        return ConsistencyProofOut(
            first=proof.first, second=proof.second, proof=[_b64(h) for h in proof.proof], checkpoint=proof.checkpoint.note
        )


__all__ = ["TransparencyController"]
