"""The term report for the steering group: the demo's term against the terms before it, as
a page and a PDF/A document, with only publishable figures (small counts shown as "..")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import TestClient

from hub import demo
from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.web.conftest import BASE_URL, post_sign_in
from tests.web.test_documents import read_pdf

UNTIL = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
ADMIN = "birgitta.mattsson"


@pytest.fixture(scope="module")
def demo_rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    demo.build_demo_data(Settings(data_dir=data_dir), children=12, until=UNTIL)
    rt = bootstrap(Settings(data_dir=data_dir, demo_mode=True), clock=SettableClock(UNTIL))
    yield rt
    rt.close()


@pytest.fixture
def signed_in(demo_rt: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(demo_rt), base_url=BASE_URL) as c:
        assert post_sign_in(c, kind="staff", user=ADMIN).status_code == 303
        yield c


def published(rt: Runtime, client: TestClient[Any]) -> tuple[list[str], dict[tuple[str, str, str], int | None]]:
    """The API's publishable figures, as the administrator reads them."""
    token = demo.issue_demo_token(rt.settings.data_dir, ADMIN, audience=rt.settings.audience, clock=rt.hub.clock)
    body = client.get("/api/v1/follow-up/figures", headers={"Authorization": f"Bearer {token}"}).json()
    assert body["publishable"] is True
    return body["terms"], {(c["term"], c["figure"], c["key"]): c["count"] for c in body["counts"]}


def test_the_term_report_page_shows_the_demos_term_against_the_terms_before_it_with_small_counts_hidden(
    demo_rt: Runtime, signed_in: TestClient[Any]
) -> None:
    terms, counts = published(demo_rt, signed_in)
    latest = terms[-1]
    page = signed_in.get("/follow-up/report", headers={"Accept-Language": "sv"})
    assert page.status_code == 200, page.text[:300]
    html = page.text
    assert "<h1>Terminsrapport: " in html and "Upptäckarkort" in html
    for term in terms[-4:]:
        year, half = term.split()
        assert re.search(rf'<th scope="col" class="num">{year} {half}</th>', html), term
    numbers = re.findall(r'<td class="num">([^<]+)</td>', html)
    assert ".." in numbers  # the demo has small counts, and they are hidden
    assert not {n for n in numbers if n != ".." and 1 <= int(n.replace("\xa0", "")) <= 2}
    cards = html[html.index('id="report-discovery-cards"'):html.index('id="report-child-conversations"')]
    shown = counts[(latest, "discovery_cards", "internal")]
    row = re.search(r'<th scope="row">Interna</th>((?:\s*<td class="num">[^<]+</td>)+)', cards)
    assert row is not None and row.group(1).split("</td>")[-2].rsplit(">", 1)[-1] == (".." if shown is None else str(shown))
    assert 'href="/follow-up/report.pdf?term=' in html
    assert signed_in.get("/follow-up/report?term=2026-vt").status_code == 422


def test_the_term_report_downloads_as_pdf_a_with_the_same_publishable_figures(
    demo_rt: Runtime, signed_in: TestClient[Any]
) -> None:
    terms, counts = published(demo_rt, signed_in)
    text, reader = read_pdf(signed_in.get("/follow-up/report.pdf?term=" + terms[-1].replace(" ", "+")))
    assert reader.metadata is not None and reader.metadata.title is not None and reader.metadata.title.startswith("Terminsrapport")
    assert "Terminsrapport" in text and "Upptäckarkort" in text and " .. " in text
    assert "SCB" in text
    def row(key: str) -> str:
        return " ".join(".." if (n := counts[(term, "discovery_cards", key)]) is None else str(n) for term in terms[-4:])

    # the report's table of cards, row by row as the API publishes them, no count of 1 or 2
    assert f"Interna {row('internal')} Externa {row('external')} Totalt" in text
    cards = text[text.index("Upptäckarkort, per termin"):text.index("Totalt")]
    assert not re.search(r"(?<![\d.])[12](?![\d.])", re.sub(r"20\d\d", "", cards))


def test_the_term_report_downloads_from_the_api_for_a_steering_groups_papers_and_a_wrong_term_is_a_named_problem(
    demo_rt: Runtime, signed_in: TestClient[Any]
) -> None:
    terms, _ = published(demo_rt, signed_in)
    token = demo.issue_demo_token(demo_rt.settings.data_dir, ADMIN, audience=demo_rt.settings.audience, clock=demo_rt.hub.clock)
    bearer = {"Authorization": f"Bearer {token}"}
    text, _ = read_pdf(signed_in.get("/api/v1/follow-up/term-report.pdf", params={"term": terms[-1]}, headers=bearer))
    page, _ = read_pdf(signed_in.get("/follow-up/report.pdf?term=" + terms[-1].replace(" ", "+")))
    assert text.split("Framtaget av")[0] == page.split("Framtaget av")[0]  # the page's report, to the figure
    latest, _ = read_pdf(signed_in.get("/api/v1/follow-up/term-report.pdf", headers=bearer))
    assert latest.split("Framtaget av")[0] == text.split("Framtaget av")[0]  # no term asked: the latest
    for wrong in ("2026-vt", "2026 VT", "0000 ht x", "x" * 41):
        problem = signed_in.get("/api/v1/follow-up/term-report.pdf", params={"term": wrong}, headers=bearer)
        assert problem.status_code in (400, 422) and problem.headers["content-type"] == "application/problem+json", wrong
        assert "term" in problem.text, wrong
