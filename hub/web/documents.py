"""The hub's documents as PDF/A, from the pages' own templates and read paths.

Barnets plan, a consent receipt and the term's follow-up report are what the pages show,
laid out for paper and archive: the same Jinja templates, macros and catalogue texts (in
Swedish, the language of the agencies' journals), filled in by the same functions the
pages use. Each document of a child is read through the core exactly as its page is
(``read_child``, ``consent_overview``), so it is consent-gated and recorded as a read; the
follow-up report holds counts that name no child (``term_figures``), as its page does.
The pages (``hub.web.pages``) and the API (``hub.http.controllers.documents``) both ask
here, in their worker thread; :mod:`adapters.documents` makes the PDF.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from litestar import Response
from litestar.plugins.jinja import JinjaTemplateEngine

from adapters.documents import MEDIA_TYPE, DocumentTooLargeError, PdfRenderer, RendererBusyError
from consent import ViewerKind
from contracts.vocabulary import CENTRAL_GOAL_SV
from hub.application import BackaHub
from hub.application.commands import FigureFilter
from hub.errors import InvalidInputError, NoBasisError, TooManyAttemptsError
from hub.identity.principals import Principal
from hub.web import filters
from hub.web.i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, Catalogue, Catalogues, load_catalogue, text_direction

LANGUAGE = DEFAULT_LANGUAGE
"""Documents are Swedish: the language of the agencies' archives and journals. A consent
receipt answered in another family language carries that language's wording too, beside the
Swedish, which binds."""
BASE_URL = "https://backa-barnet.invalid/"
RETRY_AFTER_SECONDS = 5

PURPOSE_PLAN = "Barnets plan as a PDF/A document"
PURPOSE_RECEIPT = "Family: consent receipt as a PDF/A document"
"""The purposes a document's read is recorded with: catalogue ids, so that the record of
reads words them in its reader's language."""


class Documents:
    """The templates, the Swedish catalogue and the renderer, made on the first document."""

    def __init__(self, renderer: PdfRenderer | None = None) -> None:
        self._renderer = renderer
        self._made: tuple[JinjaTemplateEngine, Catalogue, PdfRenderer] | None = None
        self._catalogues = Catalogues()
        self._lock = threading.Lock()

    def _parts(self) -> tuple[JinjaTemplateEngine, Catalogue, PdfRenderer]:
        with self._lock:
            if self._made is None:
                from hub.web.app import TEMPLATES  # the pages' own templates

                engine = JinjaTemplateEngine(directory=TEMPLATES)
                filters.register(engine)
                self._made = (engine, load_catalogue(LANGUAGE), self._renderer or PdfRenderer())
            return self._made

    def t(self, msgid: str, **values: Any) -> str:
        return self._parts()[1].gettext(msgid, **values)

    def html(self, template: str, hub: BackaHub, p: Principal, **context: Any) -> str:
        engine, catalogue, _ = self._parts()
        tenant = hub.directory.tenants.get(p.tenant_id)
        names = {
            "directory_staff": {s.user_id: s.name for s in tenant.staff.values()} if tenant else {},
            "directory_units": {u.unit_id: u.name for u in tenant.units.values()} if tenant else {},
        }
        return engine.get_template(template).render(
            t=catalogue.gettext, lang=LANGUAGE, tenant_name=tenant.name if tenant else p.tenant_id,
            units=names["directory_units"], staff_names=names["directory_staff"], made=hub.now(), language_names=LANGUAGE_NAMES,
            **names, **context,
        )

    def pdf(self, template: str, hub: BackaHub, p: Principal, *, filename: str, **context: Any) -> Response[bytes]:
        """The document as a download (in the caller's turn, see :meth:`turn`)."""
        html = self.html(template, hub, p, **context)
        try:
            content = self._parts()[2].pdf(html, base_url=BASE_URL)
        except DocumentTooLargeError as e:
            raise InvalidInputError(str(e), field="document") from None
        return Response(
            content=content, media_type=MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{_safe(filename)}.pdf"', "Cache-Control": "no-store"},
        )

    @contextmanager
    def turn(self) -> Iterator[None]:
        """A turn of the renderer, taken before the read: a caller told to come back (429) has read nothing."""
        try:
            with self._parts()[2].turn():
                yield
        except RendererBusyError as e:
            raise TooManyAttemptsError(str(e), retry_after=RETRY_AFTER_SECONDS) from None

    # -- the three documents -----------------------------------------------------------------

    def plan(self, hub: BackaHub, p: Principal, child_id: UUID, *, purpose: str | None = None) -> Response[bytes]:
        """Barnets plan as the unit may see it now: the latest version, with completions."""
        from hub.web.pages.child import plan_versions, summary

        with self.turn():
            view = hub.read_child(p, child_id, purpose=purpose or PURPOSE_PLAN, view="unit_view")
            versions = plan_versions(view)
            return self.pdf(
                "documents/plan.html", hub, p, filename=f"barnets-plan-{child_id}", child_id=str(child_id), child=summary(view),
                current=versions[-1] if versions else None, central_goal=CENTRAL_GOAL_SV,
            )

    def receipt(self, hub: BackaHub, p: Principal, child_id: UUID, consent_id: UUID) -> Response[bytes]:
        """The receipt of one consent: what, to whom, why, for how long, and who answered when."""
        from hub.web.pages.family import _consent, _identity, answered_language

        with self.turn():
            found = [c for c in hub.consent_overview(p, child_id) if c.consent_id == consent_id]
            if not found:
                raise NoBasisError("no consent with this id that you may see for this child")
            family = p.kind in (ViewerKind.GUARDIAN, ViewerKind.CHILD)
            try:
                items = hub.read_child(p, child_id, purpose=PURPOSE_RECEIPT, view="family_view" if family else "unit_view").items
            except NoBasisError:
                items = []
            consent = _consent(hub, p, found[0], items)
            answered = answered_language(consent) or LANGUAGE
            for party in consent["parties"]:
                party["is_you"] = False  # a document kept or handed on names each party, not "you"
            return self.pdf(
                "documents/receipt.html", hub, p, filename=f"samtycke-{consent_id}", child_id=str(child_id),
                child_name=_identity(items)["name"], consent=consent,
                answered=answered, answered_dir=text_direction(answered), t_answered=self._catalogues[answered].gettext,
            )

    def follow_up(self, hub: BackaHub, p: Principal, chosen: FigureFilter) -> Response[bytes]:
        """The term's follow-up report: the evaluation's figures, as the page's tables."""
        from hub.web.pages.followup import _grid, _sections, term_label

        with self.turn():
            figures = hub.term_figures(p, p.tenant_id, chosen)
            terms, counts = _grid(figures)
            t = self._parts()[1].gettext
            return self.pdf(
                "documents/follow_up.html", hub, p, filename=f"uppfoljning-{p.tenant_id}",
                terms=terms, term_labels={term: term_label(t, term) for term in figures.all_terms},
                sections=_sections(t, terms, counts, figures.figures),
            )


    def term_report(self, hub: BackaHub, p: Principal, term: str | None) -> Response[bytes]:
        """The term report for the steering group: the term's publishable figures against
        the terms before it (the latest term when none is asked for)."""
        from hub.web.pages.followup import report_context

        with self.turn():
            figures = hub.term_figures(p, p.tenant_id, FigureFilter(to_term=term))
            chosen = term or (figures.all_terms[-1] if figures.all_terms else "")
            t = self._parts()[1].gettext
            return self.pdf(
                "documents/term_report.html", hub, p, filename=f"terminsrapport-{p.tenant_id}-{chosen.replace(' ', '-')}",
                **report_context(t, figures, chosen),
            )


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "", name)[:120] or "dokument"


DOCUMENTS = Documents()
"""This process's documents: one renderer, so its bound on documents made at once holds for the process."""
