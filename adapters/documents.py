"""Documents for the agencies' archives and journals: HTML made into PDF/A with WeasyPrint.

The hub's documents (Barnets plan, a consent receipt, the term's follow-up report) are the
pages' own templates, rendered to HTML by the pages' code; this module only makes that
HTML into an archivable PDF: PDF/A-3b (ISO 19005-3, fonts embedded, an sRGB output intent,
XMP metadata naming the part and conformance), tagged so that a screen reader can follow
headings, lists and tables, with the title and language of the HTML as the document's own.

Rendering is CPU work of a worker thread, never of the event loop. It is bounded three
ways: the HTML's length, the number of pages laid out before any PDF is written, and how
many documents this process makes at once (a caller waits a while for its turn, then is
told to come back) so that documents cannot take every core from the hub's reads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

PDF_VARIANT = "pdf/a-3b"
"""Archivable (PDF/A-3, level B); ``pdf_tags`` adds the structure a reader needs."""
MEDIA_TYPE = "application/pdf"


@dataclass(frozen=True)
class DocumentLimits:
    max_html_chars: int = 2_000_000
    """Far above any document of one child or one term; a bound, not a size anyone meets."""
    max_pages: int = 200
    at_once: int = 1
    """Documents made at the same time in this process (the machine's other cores serve reads)."""
    wait_seconds: float = 3.0
    """How long a request waits for its turn before it is told to try again: short, since a
    waiting request holds one of the process's request threads."""


class DocumentTooLargeError(Exception):
    """The document would be longer than the limits allow; nothing was written."""


class RendererBusyError(Exception):
    """Every renderer of this process stayed busy for the whole wait."""


class PdfRenderer:
    """Makes PDF/A documents from HTML, a bounded number at a time."""

    def __init__(self, limits: DocumentLimits | None = None) -> None:
        self.limits = limits or DocumentLimits()
        self._turns = threading.BoundedSemaphore(self.limits.at_once)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """One of this process's turns to make a document, waited for at most ``wait_seconds``.
        A caller takes it before it reads what the document shows, so that a request told to
        come back has read nothing."""
        if not self._turns.acquire(timeout=self.limits.wait_seconds):
            raise RendererBusyError("documents are being made for others; try again shortly")
        try:
            yield
        finally:
            self._turns.release()

    def pdf(self, html: str, *, base_url: str) -> bytes:
        """The PDF/A of ``html`` (made in the caller's turn); its ``<title>`` and ``<html lang>``
        become the document's title and language. ``base_url`` is where relative links point
        (nothing is fetched: the templates' styles are inline)."""
        if len(html) > self.limits.max_html_chars:
            raise DocumentTooLargeError("the document's text is longer than a document may be")
        from weasyprint import HTML  # loaded on the first document: it loads pango, which a start need not wait for

        options = {"pdf_variant": PDF_VARIANT, "pdf_tags": True}
        document = HTML(string=html, base_url=base_url, url_fetcher=_no_fetching).render(**options)
        if len(document.pages) > self.limits.max_pages:
            raise DocumentTooLargeError("the document would have more pages than a document may have")
        pdf: bytes = document.write_pdf(**options)
        return pdf


def _no_fetching(url: str, *args: object, **kwargs: object) -> dict[str, object]:
    """A document carries everything it shows; a link in its text is never fetched while it is made."""
    raise ValueError("documents fetch nothing")
