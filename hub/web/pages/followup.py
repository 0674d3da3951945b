"""Uppföljning: the evaluation's figures per half-year term, as tables, bar charts and CSV.

The figures come from the core (``hub.term_figures``), which counts them from the facts
alone; the page only lays them out. The visitor may narrow them to a span of terms and one
figure (``from``, ``to``, ``figure``); every chosen term is shown with every chosen figure,
a figure without facts in a term as 0 (``TermFigures.every_count``), so the table, the
charts, the CSV file and the API's answer (``/api/v1/follow-up/figures``, with the same
query) always hold the same numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.params import QueryParameter
from litestar.response import Template
from pydantic import ValidationError

from consent.disclosure import SUPPRESSED
from contracts.labels import label_key
from contracts.vocabulary import Decision, HomeVisit
from hub.application import Action
from hub.application.commands import FigureFilter
from hub.application.readmodels import TermFigures
from hub.errors import InvalidInputError
from hub.web.app import Web
from hub.web.documents import DOCUMENTS
from hub.web.session import Visitor
from projections.figures import FIGURES, TERM_PATTERN, term_order

CHART_WIDTH = 640
LABEL_WIDTH = 250
BAR_SPACE = 330
BAR_HEIGHT = 22
BAR_GAP = 8


def figure_labels(t: Callable[..., str]) -> dict[str, str]:
    """What each figure is called, in the visitor's language."""
    return {
        "discovery_cards": t("Upptäckarkort (discovery cards)"),
        "child_conversations": t("Child conversations"),
        "decisions": t("Decisions after the child conversation"),
        "barnteam_meetings": t("Barnteam meetings"),
        "barnteam_children": t("Children discussed in a Barnteam"),
        "joint_compasses": t("Joint Behovskompass made in a Barnteam"),
        "follow_up_conversations": t("Follow-up conversations"),
        "individual_teams": t("Individual child teams started"),
        "individual_teams_with_plan": t("Individual child teams with an active Barnets plan"),
        "needs_met": t("Children whose needs were met, with a follow-up Behovskompass"),
        "home_visits": t("Home visits"),
    }


def key_labels(t: Callable[..., str]) -> dict[tuple[str, str], str]:
    """What each part of a figure is called; a figure of one part has none."""
    return {
        ("discovery_cards", "internal"): t("Internal"),
        ("discovery_cards", "external"): t("External"),
        ("child_conversations", "child"): t("With the child"),
        ("child_conversations", "guardian"): t("With guardians"),
        **{("decisions", d.value): t(label_key(d)) for d in Decision},
        **{
            ("home_visits", str(int(v))): t("Visit {number}: {name}", number=int(v), name=t(label_key(v)))
            for v in HomeVisit
        },
    }


def term_label(t: Callable[..., str], term: str) -> str:
    year, half = term.split(" ", 1)
    return t("{year} spring term (vt)", year=year) if half == "vt" else t("{year} autumn term (ht)", year=year)


@dataclass(frozen=True)
class Bar:
    label: str
    count: int | None
    y: int
    width: int


def _grid(figures: TermFigures) -> tuple[list[str], dict[tuple[str, str, str], int | None]]:
    """The terms and every (term, figure, key) count of the chosen figures, 0 where nothing
    was counted: the read model's one list of counts, which the CSV file and the API give too."""
    return list(figures.terms), {(r.term, r.figure, r.key): r.count for r in figures.every_count()}


FILTER_FIELDS = {"from": "from_term", "to": "to_term", "figure": "figure"}
FILTER_PROBLEMS = {
    "from": "Choose a term from the list.",
    "to": "Choose a term from the list.",
    "figure": "Choose a figure from the list.",
}


def read_filter(asked: dict[str, str | None]) -> tuple[FigureFilter | None, dict[str, str]]:
    """The filter of the query (an empty choice is no filter), or each field's problem."""
    values = {FILTER_FIELDS[k]: (v or None) for k, v in asked.items()}
    try:
        return FigureFilter.model_validate(values), {}
    except ValidationError as e:
        names = {v: k for k, v in FILTER_FIELDS.items()}
        found = {str(x["loc"][0]) for x in e.errors(include_input=False, include_url=False) if x["loc"]}
        return None, {names[f]: FILTER_PROBLEMS[names[f]] for f in found if f in names}


def _sections(
    t: Callable[..., str], terms: list[str], counts: dict[tuple[str, str, str], int | None], chosen: list[str]
) -> list[dict[str, Any]]:
    """One section per figure: its table rows and its chart's bars."""
    names, parts = figure_labels(t), key_labels(t)
    sections = []
    for figure, keys in FIGURES:
        if figure not in chosen:
            continue
        table = [(parts.get((figure, key), names[figure]), [counts[(term, figure, key)] for term in terms]) for key in keys]
        highest = max([1, *(n or 0 for _, numbers in table for n in numbers)])
        rows = [{"label": label, "counts": numbers} for label, numbers in table]
        bars: list[Bar] = []
        for term in terms:
            for key in keys:
                n = counts[(term, figure, key)]
                part = parts.get((figure, key))
                label = f"{term}, {part}" if part else term
                bars.append(Bar(label, n, len(bars) * (BAR_HEIGHT + BAR_GAP), round(BAR_SPACE * (n or 0) / highest)))
        sections.append(
            {
                "id": figure.replace("_", "-"),
                "title": names[figure],
                "rows": rows,
                "bars": bars,
                "height": max(len(bars), 1) * (BAR_HEIGHT + BAR_GAP),
            }
        )
    return sections


REPORT_TERMS = 4
"""The term and the earlier terms a term report sets it against."""


def report_context(t: Callable[..., str], figures: TermFigures, term: str) -> dict[str, Any]:
    """The term report's tables: each figure's parts and total in the term and the terms
    before it, only as published (``figures`` must be publishable)."""
    if not figures.publishable:  # the report shows nothing else, whoever asks for it
        raise ValueError("a term report is made from publishable figures only")
    terms = [x for x in figures.terms if term_order(x) <= term_order(term)][-REPORT_TERMS:] if term else []
    counts = {(r.term, r.figure, r.key): r.count for r in figures.every_count()}
    totals = {(r.term, r.figure): r.count for r in figures.totals}
    names, parts = figure_labels(t), key_labels(t)
    sections = []
    for figure, keys in FIGURES:
        rows = [{"label": parts.get((figure, key), names[figure]), "counts": [counts[(x, figure, key)] for x in terms]} for key in keys]
        total = [totals.get((x, figure)) for x in terms] if len(keys) > 1 else None
        sections.append({"id": figure.replace("_", "-"), "title": names[figure], "rows": rows, "total": total})
    return {
        "term": term,
        "terms": terms,
        "term_labels": {x: term_label(t, x) for x in figures.all_terms},
        "has_term": term in figures.terms,
        "threshold": figures.threshold,
        "rounding": figures.rounding,
        "sections": sections,
    }


FilterParam = Annotated[str | None, QueryParameter(max_length=40)]
FromParam = Annotated[str | None, QueryParameter(name="from", max_length=40)]
ToParam = Annotated[str | None, QueryParameter(name="to", max_length=40)]


UnsuppressedParam = Annotated[bool, QueryParameter()]


def wrong_term(who: Visitor) -> Response[str]:
    """A term report asked for a term not written as one."""
    problem = "term: " + who.t("Choose a term from the list.") + "\r\n"
    return Response(content=problem, media_type="text/plain; charset=utf-8", status_code=422)


def routes(web: Web) -> list[Any]:
    def chosen(
        who: Visitor, asked: dict[str, str | None], *, unsuppressed: bool = False
    ) -> tuple[TermFigures | None, dict[str, str]]:
        """The figures the query asks for, or what is wrong with the query."""
        principal = who.require(who.path)
        wanted, errors = read_filter(asked)
        if wanted is None:
            return None, errors
        try:
            return web.hub.term_figures(principal, principal.tenant_id, wanted, unsuppressed=unsuppressed), {}
        except InvalidInputError:
            return None, {"from": "The first term must not be after the last."}

    @get("/follow-up", sync_to_thread=True, include_in_schema=False)
    def follow_up(
        request: Request[Any, Any, Any],
        from_term: FromParam = None,
        to_term: ToParam = None,
        figure: FilterParam = None,
        unsuppressed: UnsuppressedParam = False,
    ) -> Template:
        who = web.visitor(request)
        principal = who.require(who.path)
        asked = {"from": from_term, "to": to_term, "figure": figure}
        figures, errors = chosen(who, asked, unsuppressed=unsuppressed)
        everything = figures if figures is not None else web.hub.term_figures(principal, principal.tenant_id)
        terms, counts = _grid(figures) if figures is not None else ([], {})
        tenant = web.hub.directory.tenants.get(principal.tenant_id)
        query = urlencode({k: v for k, v in asked.items() if v}) if not errors else ""
        return web.render(
            who,
            "followup/figures.html",
            status_code=422 if errors else 200,
            active="follow-up",
            tenant_name=tenant.name if tenant else principal.tenant_id,
            terms=terms,
            term_labels={term: term_label(who.t, term) for term in everything.all_terms},
            all_terms=everything.all_terms,
            figure_names=figure_labels(who.t),
            asked=asked,
            errors=errors,
            query=query,
            publishable=figures.publishable if figures is not None else True,
            may_unsuppress=web.hub.may(principal, Action.READ_UNSUPPRESSED_FIGURES),
            threshold=everything.threshold,
            sections=_sections(who.t, terms, counts, figures.figures) if figures is not None else [],
            chart={"width": CHART_WIDTH, "label_width": LABEL_WIDTH, "bar_height": BAR_HEIGHT, "space": BAR_SPACE},
        )

    @get("/follow-up.csv", sync_to_thread=True, include_in_schema=False)
    def follow_up_csv(
        request: Request[Any, Any, Any],
        from_term: FromParam = None,
        to_term: ToParam = None,
        figure: FilterParam = None,
        unsuppressed: UnsuppressedParam = False,
    ) -> Response[str]:
        """One row per term and figure (and part of a figure), with its count: ".." where the
        disclosure rule hides it, and ``yes`` in ``suppressed`` (never why: see :mod:`consent.disclosure`)."""
        who = web.visitor(request)
        principal = who.require(who.path)
        figures, errors = chosen(who, {"from": from_term, "to": to_term, "figure": figure}, unsuppressed=unsuppressed)
        if figures is None:
            problems = "; ".join(f"{name}: {who.t(problem)}" for name, problem in errors.items())
            return Response(content=problems + "\r\n", media_type="text/plain; charset=utf-8", status_code=422)
        names, parts = figure_labels(who.t), key_labels(who.t)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["tenant", "term", "figure", "key", "label", "count", "suppressed"])
        for row in figures.every_count():
            label = names[row.figure] + (f": {parts[(row.figure, row.key)]}" if (row.figure, row.key) in parts else "")
            shown = SUPPRESSED if row.count is None else row.count
            writer.writerow([principal.tenant_id, row.term, row.figure, row.key, label, shown, "yes" if row.suppressed else ""])
        filename = f"uppfoljning-{''.join(ch for ch in principal.tenant_id if ch.isalnum() or ch in '-_')}.csv"
        return Response(
            content=out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @get("/follow-up.pdf", sync_to_thread=True, include_in_schema=False)
    def follow_up_pdf(
        request: Request[Any, Any, Any],
        from_term: FromParam = None,
        to_term: ToParam = None,
        figure: FilterParam = None,
    ) -> Response[bytes] | Response[str]:
        """The term's follow-up report as PDF/A: the page's tables, for the same readers and filter."""
        who = web.visitor(request)
        principal = who.require(who.path)
        wanted, errors = read_filter({"from": from_term, "to": to_term, "figure": figure})
        if wanted is None:
            problems = "; ".join(f"{name}: {who.t(problem)}" for name, problem in errors.items())
            return Response(content=problems + "\r\n", media_type="text/plain; charset=utf-8", status_code=422)
        return DOCUMENTS.follow_up(web.hub, principal, wanted)

    def report_term(who: Visitor, term: str | None) -> tuple[TermFigures, str] | None:
        """The publishable figures up to the term asked for (the latest when none), or None
        when the term is not written as a term."""
        principal = who.require(who.path)
        if term is not None and not re.fullmatch(TERM_PATTERN, term):
            return None
        figures = web.hub.term_figures(principal, principal.tenant_id, FigureFilter(to_term=term))
        chosen = term or (figures.all_terms[-1] if figures.all_terms else None)
        return figures, chosen or ""

    @get("/follow-up/report", sync_to_thread=True, include_in_schema=False)
    def term_report(request: Request[Any, Any, Any], term: FilterParam = None) -> Template | Response[str]:
        """The term report for the steering group: the term's publishable figures against
        the terms before it."""
        who = web.visitor(request)
        found = report_term(who, term)
        if found is None:
            return wrong_term(who)
        figures, chosen = found
        principal = who.require(who.path)
        tenant = web.hub.directory.tenants.get(principal.tenant_id)
        return web.render(
            who, "followup/report.html", active="follow-up",
            tenant_name=tenant.name if tenant else principal.tenant_id,
            pdf_query=urlencode({"term": chosen}) if chosen else "",
            **report_context(who.t, figures, chosen),
        )

    @get("/follow-up/report.pdf", sync_to_thread=True, include_in_schema=False)
    def term_report_pdf(request: Request[Any, Any, Any], term: FilterParam = None) -> Response[bytes] | Response[str]:
        """The term report as a PDF/A document, in Swedish."""
        who = web.visitor(request)
        principal = who.require(who.path)
        if term is not None and not re.fullmatch(TERM_PATTERN, term):
            return wrong_term(who)
        return DOCUMENTS.term_report(web.hub, principal, term)

    return [follow_up, follow_up_csv, follow_up_pdf, term_report, term_report_pdf]
