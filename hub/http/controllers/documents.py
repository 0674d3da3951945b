"""The hub's documents as PDF/A downloads: Barnets plan, a consent receipt, the term's
follow-up report. Each is read through the core as its JSON or page is (a child's document
is consent-gated and recorded as a read); a refusal is a problem, never a PDF."""

from __future__ import annotations

import re
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter

from hub.errors import InvalidInputError
from hub.http.controllers._base import Caller, ChildId, Hub, query
from hub.http.controllers.children import Purpose
from hub.http.controllers.figures import _filter
from hub.http.problems import problem_responses
from hub.web.documents import DOCUMENTS
from projections.figures import TERM_PATTERN

PDF = {200: ResponseSpec(data_container=bytes, media_type="application/pdf", description="A PDF/A-3b document, tagged, in Swedish")}
Term = Annotated[str | None, QueryParameter(max_length=40)]


class DocumentsController(Controller):
    tags = ["documents"]

    @query("/children/{child_id:uuid}/plan.pdf", summary="Barnets plan as PDF/A", media_type="application/pdf",
           responses={**PDF, **problem_responses(403, 404, 429)})
    def plan(self, hub: Hub, caller: Caller, child_id: ChildId, purpose: Purpose = None) -> Response[bytes]:
        """The latest version of the plan as the caller's unit may see it now; recorded as a read of the child."""
        return DOCUMENTS.plan(hub, caller, child_id, purpose=purpose)

    @query("/children/{child_id:uuid}/consents/{consent_id:uuid}/receipt.pdf", summary="A receipt of one consent as PDF/A",
           media_type="application/pdf", responses={**PDF, **problem_responses(403, 404, 429)})
    def receipt(self, hub: Hub, caller: Caller, child_id: ChildId, consent_id: FromPath[UUID]) -> Response[bytes]:
        """What was asked, of whom, why and for how long, and who answered when; recorded as a read of the child."""
        return DOCUMENTS.receipt(hub, caller, child_id, consent_id)

    @query("/follow-up/report.pdf", summary="The term's follow-up report as PDF/A", media_type="application/pdf",
           responses={**PDF, **problem_responses(403, 422, 429)})
    def follow_up(
        self, hub: Hub, caller: Caller,
        from_term: Annotated[str | None, QueryParameter(name="from", max_length=40)] = None,
        to_term: Annotated[str | None, QueryParameter(name="to", max_length=40)] = None,
        figure: Term = None,
    ) -> Response[bytes]:
        """The evaluation's figures per term, with the filter of ``/follow-up/figures``."""
        return DOCUMENTS.follow_up(hub, caller, _filter(from_term=from_term, to_term=to_term, figure=figure))

    @query("/follow-up/term-report.pdf", summary="The term report for the steering group as PDF/A", media_type="application/pdf",
           responses={**PDF, **problem_responses(403, 422, 429)})
    def term_report(self, hub: Hub, caller: Caller, term: Term = None) -> Response[bytes]:
        """The term against up to three terms before it (the latest term when none is asked
        for), with publishable figures only: the page's report, for a steering group's papers."""
        if term is not None and not re.fullmatch(TERM_PATTERN, term):
            raise InvalidInputError("term: a term is written as a year and vt or ht, such as 2026 vt", field="term")
        return DOCUMENTS.term_report(hub, caller, term)
