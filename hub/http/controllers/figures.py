"""Uppföljning as data: the evaluation's figures per half-year term, beside the page and its
CSV file, for the same readers (the cooperation area's staff and administrator) and with the
same filter, so that the three give the same numbers."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller
from litestar.params import QueryParameter
from pydantic import ValidationError

from hub.application.commands import FigureFilter
from hub.errors import InvalidInputError
from hub.http.controllers._base import Caller, Hub, query
from hub.http.problems import problem_responses
from hub.http.schemas import FollowUpFigures
from projections.figures import FIGURE_NAMES

PARAMETERS = {"from_term": "from", "to_term": "to", "figure": "figure"}
"""Each field of the filter by the query parameter it comes from (the page's names)."""



class FiguresController(Controller):
    path = "/follow-up"

    @query(
        "/figures",
        summary="The evaluation's figures per half-year term: every term and figure, 0 where nothing was counted",
        tags=["follow-up"],
        responses=problem_responses(403, 422),
    )
    def figures(
        self,
        hub: Hub,
        caller: Caller,
        from_term: Annotated[
            str | None, QueryParameter(name="from", max_length=40, description='The first term, e.g. "2025 ht"; all when left out')
        ] = None,
        to_term: Annotated[
            str | None, QueryParameter(name="to", max_length=40, description='The last term, e.g. "2026 vt"; all when left out')
        ] = None,
        figure: Annotated[
            str | None, QueryParameter(max_length=40, description="One figure (" + ", ".join(FIGURE_NAMES) + "); all when left out")
        ] = None,
        unsuppressed: Annotated[
            bool, QueryParameter(description="The area's administrator's view without disclosure control; recorded")
        ] = False,
    ) -> FollowUpFigures:
        chosen = _filter(from_term=from_term, to_term=to_term, figure=figure)
        figures = hub.term_figures(caller, caller.tenant_id, chosen, unsuppressed=unsuppressed)
        return FollowUpFigures(
            tenant_id=figures.tenant_id,
            from_term=chosen.from_term,
            to_term=chosen.to_term,
            figure=chosen.figure,
            terms=figures.terms,
            figures=figures.figures,
            counts=figures.every_count(),
            publishable=figures.publishable,
            threshold=figures.threshold,
        )


def _filter(**asked: str | None) -> FigureFilter:
    """The query as the core's filter; a wrong value is refused naming its query parameter."""
    try:
        return FigureFilter.model_validate(asked)
    except ValidationError as e:
        errors = [
            {"field": PARAMETERS.get(str(x["loc"][0]), "query") if x["loc"] else "query", "message": x["msg"]}
            for x in e.errors(include_input=False, include_url=False)
        ]
        raise InvalidInputError(
            "; ".join(f"{x['field']}: {x['message']}" for x in errors), errors=errors, field=errors[0]["field"]
        ) from None
