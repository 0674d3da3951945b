"""Uppföljning: the evaluation's figures per half-year term, as tables, bar charts and CSV.

The figures come from the core (``hub.term_figures``), which counts them from the facts
alone; the page only lays them out. Every term the hub has figures for is shown with
every figure, a figure without facts in a term as 0, so the table, the charts and the
CSV file always hold the same numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get
from litestar.response import Template

from contracts.labels import label_key
from contracts.vocabulary import Decision, HomeVisit
from hub.application.readmodels import TermFigures
from hub.web.app import Web
from projections.figures import FIGURES

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
    count: int
    y: int
    width: int


def _grid(figures: TermFigures) -> tuple[list[str], dict[tuple[str, str, str], int]]:
    """The terms and every (term, figure, key) count, 0 where nothing was counted."""
    terms = list(figures.terms)
    counts = {(term, figure, key): 0 for term in terms for figure, keys in FIGURES for key in keys}
    for row in figures.rows:
        counts[(row.term, row.figure, row.key)] = row.count
    return terms, counts


def _sections(t: Callable[..., str], terms: list[str], counts: dict[tuple[str, str, str], int]) -> list[dict[str, Any]]:
    """One section per figure: its table rows and its chart's bars."""
    names, parts = figure_labels(t), key_labels(t)
    sections = []
    for figure, keys in FIGURES:
        table = [(parts.get((figure, key), names[figure]), [counts[(term, figure, key)] for term in terms]) for key in keys]
        highest = max([1, *(n for _, numbers in table for n in numbers)])
        rows = [{"label": label, "counts": numbers} for label, numbers in table]
        bars: list[Bar] = []
        for term in terms:
            for key in keys:
                n = counts[(term, figure, key)]
                part = parts.get((figure, key))
                label = f"{term}, {part}" if part else term
                bars.append(Bar(label, n, len(bars) * (BAR_HEIGHT + BAR_GAP), round(BAR_SPACE * n / highest)))
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


def routes(web: Web) -> list[Any]:
    @get("/follow-up", sync_to_thread=True, include_in_schema=False)
    def follow_up(request: Request[Any, Any, Any]) -> Template:
        who = web.visitor(request)
        principal = who.require(who.path)
        figures = web.hub.term_figures(principal, principal.tenant_id)
        terms, counts = _grid(figures)
        tenant = web.hub.directory.tenants.get(principal.tenant_id)
        return web.render(
            who,
            "followup/figures.html",
            active="follow-up",
            tenant_name=tenant.name if tenant else principal.tenant_id,
            terms=terms,
            term_labels={term: term_label(who.t, term) for term in terms},
            sections=_sections(who.t, terms, counts),
            chart={"width": CHART_WIDTH, "label_width": LABEL_WIDTH, "bar_height": BAR_HEIGHT, "space": BAR_SPACE},
        )

    @get("/follow-up.csv", sync_to_thread=True, include_in_schema=False)
    def follow_up_csv(request: Request[Any, Any, Any]) -> Response[str]:
        """One row per term and figure (and part of a figure), with its count."""
        who = web.visitor(request)
        principal = who.require(who.path)
        figures = web.hub.term_figures(principal, principal.tenant_id)
        terms, counts = _grid(figures)
        names, parts = figure_labels(who.t), key_labels(who.t)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["tenant", "term", "figure", "key", "label", "count"])
        for term in terms:
            for figure, keys in FIGURES:
                for key in keys:
                    label = names[figure] + (f": {parts[(figure, key)]}" if (figure, key) in parts else "")
                    writer.writerow([principal.tenant_id, term, figure, key, label, counts[(term, figure, key)]])
        filename = f"uppfoljning-{''.join(ch for ch in principal.tenant_id if ch.isalnum() or ch in '-_')}.csv"
        return Response(
            content=out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    return [follow_up, follow_up_csv]
