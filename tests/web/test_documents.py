"""The hub's documents as PDF/A: Barnets plan, a consent receipt and the term's follow-up
report, downloaded from the pages and the API of a hub on an SQLite file, read back as text
and as an image, and checked for what an archive asks (PDF/A identification, language,
tags); a download of a child's document is a read, gated and recorded like the page's."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pypdfium2
import pytest
from litestar.testing import TestClient
from pypdf import PdfReader

from adapters.documents import DocumentLimits, DocumentTooLargeError, PdfRenderer, RendererBusyError
from contracts.vocabulary import FamilyLanguage
from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from hub.web.documents import DOCUMENTS
from hub.web.i18n import LANGUAGE_NAMES, load_catalogue
from tests.conftest import family
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, STAFF, TENANT, directory, staff
from tests.web.conftest import BASE_URL, post_sign_in
from tests.web.test_child_pages import consented_team, reads_of, sign_in, write_plan


@pytest.fixture
def rt(clock: SettableClock, tmp_path: Path) -> Iterator[Runtime]:
    """The hub on an SQLite file, as a small cooperation area runs it."""
    runtime = bootstrap(Settings(store="sqlite", data_dir=tmp_path / "data", demo_mode=True), clock=clock, directory=directory())
    yield runtime
    runtime.close()


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(rt), base_url=BASE_URL) as c:
        yield c


def staff_bearer(rt: Runtime, user_id: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    unit, roles = STAFF[user_id]
    return {"Authorization": f"Bearer {rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles))}"}


def family_bearer(rt: Runtime, personnummer: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    return {"Authorization": f"Bearer {rt.demo_issuer.family_token(TENANT, 'guardian', personnummer)}"}


def read_pdf(response: Any) -> tuple[str, PdfReader]:
    """The document's text (whitespace made single spaces), and the document, after checking
    that it is a PDF/A-3b, tagged, in Swedish, with its first page not blank."""
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    reader = PdfReader(io.BytesIO(response.content))
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert re.search(r"pdfaid:part(>|=\")3", xmp) and re.search(r"pdfaid:conformance(>|=\")B", xmp), xmp
    assert root["/Lang"] == "sv"
    assert root["/MarkInfo"]["/Marked"] and "/StructTreeRoot" in root  # tagged: a structure a screen reader follows
    page = pypdfium2.PdfDocument(response.content)[0].render(scale=1).to_pil().convert("L")
    dark = sum(page.histogram()[:128])
    assert dark > 2000, "the first page is blank"
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    return text, reader


def test_barnets_plan_downloads_as_pdf_a_from_the_page_and_the_api_and_each_download_is_a_recorded_read(
    rt: Runtime, client: TestClient[Any], clock: SettableClock
) -> None:
    child_id = consented_team(rt, clock)
    write_plan(rt, child_id)
    before = len(reads_of(rt, child_id))
    sign_in(client, "rektor.ostra")
    assert f'href="/staff/children/{child_id}/plan.pdf"' in client.get(f"/staff/children/{child_id}/plan").text
    text, reader = read_pdf(client.get(f"/staff/children/{child_id}/plan.pdf"))
    assert reader.metadata is not None and reader.metadata.title == "Barnets plan: Alva Lind"
    for shown in ("Barnets plan: Alva Lind", "Trygghet", "Känna sig trygg på rasten", "Rastvärd varje dag", "Rektor",
                  "Jag vill ha en vuxen på rasten", "Vi vill veta hur det går", "Bästa möjliga start i livet", "Mål", "Insatser"):
        assert shown in text, shown
    api_text, _ = read_pdf(client.get(f"/api/v1/children/{child_id}/plan.pdf", headers=staff_bearer(rt, "socsek.ystad")))
    assert "Rastvärd varje dag" in api_text
    reads = reads_of(rt, child_id)[before:]
    downloads = [r for r in reads if r.purpose == "Barnets plan as a PDF/A document"]
    assert [(r.accessor_id, r.allowed) for r in downloads] == [("rektor.ostra", True), ("socsek.ystad", True)]
    assert all("plan" in [c.value for c in r.categories] for r in downloads)


def test_a_unit_without_basis_gets_a_problem_and_no_pdf_and_the_refusal_is_recorded(
    rt: Runtime, client: TestClient[Any], clock: SettableClock
) -> None:
    """Social services, a recipient until a guardian withdrew the consent."""
    child_id = consented_team(rt, clock)
    write_plan(rt, child_id)
    consent_id = rt.hub.consent_overview(family(rt, GUARDIAN_2_PNR), child_id)[0].consent_id
    rt.hub.withdraw_consent(family(rt, GUARDIAN_2_PNR), child_id, UUID(str(consent_id)))
    before = len(reads_of(rt, child_id))
    refused = client.get(f"/api/v1/children/{child_id}/plan.pdf", headers=staff_bearer(rt, "socsek.ystad"))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("no-basis") and b"%PDF" not in refused.content and "Alva" not in refused.text
    sign_in(client, "socsek.ystad")
    page = client.get(f"/staff/children/{child_id}/plan.pdf")
    assert page.status_code == 403 and b"%PDF" not in page.content and "Rastvärd" not in page.text
    denied = [r for r in reads_of(rt, child_id)[before:] if r.accessor_id == "socsek.ystad"]
    assert len(denied) == 2 and not any(r.allowed for r in denied)


def test_the_consent_receipt_downloads_as_pdf_a_for_the_guardian(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    child_id = consented_team(rt, clock)
    anna = family(rt, GUARDIAN_1_PNR)
    consent_id = rt.hub.consent_overview(anna, child_id)[0].consent_id
    before = len(reads_of(rt, child_id))
    client.cookies.clear()
    assert post_sign_in(client, kind="guardian", personnummer=GUARDIAN_1_PNR).status_code == 303
    receipt = f"/family/children/{child_id}/consents/{consent_id}/receipt"
    assert f'href="{receipt}.pdf"' in client.get(receipt).text
    text, reader = read_pdf(client.get(receipt + ".pdf"))
    assert reader.metadata is not None and reader.metadata.title == "Kvitto på samtycke: Alva Lind"
    for shown in ("Kvitto på samtycke", "Alva Lind", str(consent_id), "Barnteam kring stödet i skolan",  # why
                  "Soc Ystad", "Alla verksamheter av det här slaget: elevhälsa",  # to whom: a unit by name, and every unit of a kind
                  "Behov", "Barnets plan",  # what
                  "2 mars 2027",  # until when: a year after the request
                  "Anna Lind (Vårdnadshavare): har sagt ja", "Bo Lind (Vårdnadshavare): har sagt ja"):  # who answered, by name
        assert shown in text, shown
    api_text, _ = read_pdf(client.get(f"/api/v1/children/{child_id}/consents/{consent_id}/receipt.pdf", headers=family_bearer(rt, GUARDIAN_1_PNR)))
    assert "Barnteam kring stödet i skolan" in api_text
    receipts = [r for r in reads_of(rt, child_id)[before:] if r.purpose == "Family: consent receipt as a PDF/A document"]
    assert len(receipts) == 2 and all(r.allowed for r in receipts)


def test_the_terms_follow_up_report_downloads_as_pdf_a_with_the_figures(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    consented_team(rt, clock)
    clock.set(datetime(2026, 9, 14, 9, 0, tzinfo=UTC))
    rt.hub.record_home_visit(staff("sjukskoterska.bvc"), _another_child(rt), visit=2)
    sign_in(client, "admin.ystad")
    assert 'href="/follow-up.pdf"' in client.get("/follow-up").text
    text, reader = read_pdf(client.get("/follow-up.pdf"))
    assert reader.metadata is not None and reader.metadata.title is not None and reader.metadata.title.startswith("Uppföljning")
    figures = client.get("/api/v1/follow-up/figures", headers=staff_bearer(rt, "admin.ystad")).json()
    assert figures["terms"] == ["2026 vt", "2026 ht"]
    counts = {(c["figure"], c["key"], c["term"]): c["count"] for c in figures["counts"]}
    # counts of 1 are published as ".." (disclosure control), in the API and the document alike
    assert (counts[("discovery_cards", "internal", "2026 vt")], counts[("home_visits", "2", "2026 ht")]) == (None, None)
    # the page's tables, row by row: a label, then the count of each term, as the API publishes them
    assert "Upptäckarkort, per termin Mått 2026 vt 2026 ht Interna .. 0 Externa 0 0" in text
    assert "Med barnet .. 0 Med vårdnadshavare 0 0" in text and "Individuellt barnteam .. 0" in text
    assert re.search(r"Besök 2: [^0-9]+ 0 \.\. ", text), text
    one = read_pdf(client.get("/api/v1/follow-up/report.pdf?figure=home_visits", headers=staff_bearer(rt, "admin.ystad")))[0]
    assert "Hembesök" in one and "Upptäckarkort" not in one
    refused = client.get("/api/v1/follow-up/report.pdf", headers=family_bearer(rt, GUARDIAN_1_PNR))
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")


def _another_child(rt: Runtime) -> UUID:
    child = rt.hub.register_child(
        staff("sjukskoterska.bvc"), personnummer="202601022383", given_name="Nils", family_name="Berg",
        guardians=[{"name": "Eva Berg", "personnummer": "198805052381", "has_custody": True}],
    )
    assert isinstance(child, UUID)
    return child


def test_the_renderer_refuses_a_document_past_its_bounds_and_waits_its_turn() -> None:
    long = "<!doctype html><html lang='sv'><title>Lång</title>" + "<p style='page-break-after: always'>Sida</p>" * 5
    with pytest.raises(DocumentTooLargeError):
        PdfRenderer(DocumentLimits(max_pages=4)).pdf(long, base_url="https://x.invalid/")
    with pytest.raises(DocumentTooLargeError):
        PdfRenderer(DocumentLimits(max_html_chars=100)).pdf(long, base_url="https://x.invalid/")
    assert PdfRenderer(DocumentLimits(max_pages=5)).pdf(long, base_url="https://x.invalid/").startswith(b"%PDF")
    busy = PdfRenderer(DocumentLimits(at_once=1, wait_seconds=0.01))
    with busy.turn():  # another document is being made
        with pytest.raises(RendererBusyError):
            with busy.turn():
                pass
    with busy.turn():  # and when it is made, the next one's turn comes
        pass


def test_a_download_while_the_renderer_stays_busy_is_told_to_come_back_and_reads_nothing(
    rt: Runtime, client: TestClient[Any], clock: SettableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    child_id = consented_team(rt, clock)
    write_plan(rt, child_id)
    renderer = DOCUMENTS._parts()[2]
    monkeypatch.setattr(renderer, "limits", DocumentLimits(wait_seconds=0.01))
    before = len(reads_of(rt, child_id))
    with renderer.turn():  # another document is being made, for the whole wait
        refused = client.get(f"/api/v1/children/{child_id}/plan.pdf", headers=staff_bearer(rt, "rektor.ostra"))
    assert refused.status_code == 429 and refused.headers["retry-after"] == "5"
    assert refused.headers["content-type"].startswith("application/problem+json") and b"%PDF" not in refused.content
    assert len(reads_of(rt, child_id)) == before
    read_pdf(client.get(f"/api/v1/children/{child_id}/plan.pdf", headers=staff_bearer(rt, "rektor.ostra")))


@pytest.mark.parametrize("language", ["ar", "ti"])
def test_a_receipt_answered_in_a_family_language_carries_that_wording_after_the_binding_swedish(
    rt: Runtime, client: TestClient[Any], clock: SettableClock, language: str
) -> None:
    child_id = consented_team(rt, clock)
    anna = family(rt, GUARDIAN_1_PNR)
    consent_id = rt.hub.consent_overview(anna, child_id)[0].consent_id
    rt.hub.withdraw_consent(anna, child_id, consent_id, language=FamilyLanguage(language))
    theirs = load_catalogue(language)
    text, reader = read_pdf(client.get(f"/api/v1/children/{child_id}/consents/{consent_id}/receipt.pdf", headers=family_bearer(rt, GUARDIAN_1_PNR)))
    assert "Kvitto på samtycke" in text and "2 mars 2027" in text  # the Swedish, which binds, comes first
    assert text.index("Kvitto på samtycke") < text.index(LANGUAGE_NAMES[language])
    page_text = " ".join(p.extract_text() for p in reader.pages)
    for msgid in ("What you answered", "Who answered, and when"):
        assert theirs.gettext(msgid) != msgid
        assert all(word in page_text for word in theirs.gettext(msgid).split()), msgid
    fonts = {str(f.get_object()["/BaseFont"]) for p in reader.pages for f in p["/Resources"]["/Font"].values()}
    if language == "ti":  # Ethiopic script drawn with a font that has it, not as empty boxes
        assert any("Abyssinica" in f for f in fonts), fonts


def test_an_answer_through_the_api_names_the_language_its_request_was_shown_in_or_is_refused_naming_it(
    rt: Runtime, client: TestClient[Any], clock: SettableClock
) -> None:
    child_id = consented_team(rt, clock)
    consent_id = rt.hub.consent_overview(family(rt, GUARDIAN_1_PNR), child_id)[0].consent_id
    withdraw = f"/api/v1/children/{child_id}/consents/{consent_id}/withdraw"
    before = rt.hub.log_length()
    for wrong in ("xx", "AR", "arabic", "", "sv,ar"):
        refused = client.post(withdraw, params={"language": wrong}, headers=family_bearer(rt, GUARDIAN_1_PNR))
        assert refused.status_code in (400, 422) and refused.headers["content-type"] == "application/problem+json", wrong
        assert "language" in refused.text, wrong
    assert rt.hub.log_length() == before  # nothing appended for a language not offered

    done = client.post(withdraw, params={"language": "so"}, headers=family_bearer(rt, GUARDIAN_1_PNR))
    assert done.status_code == 201, done.text
    text, _ = read_pdf(client.get(f"/api/v1/children/{child_id}/consents/{consent_id}/receipt.pdf", headers=family_bearer(rt, GUARDIAN_1_PNR)))
    assert LANGUAGE_NAMES["so"] in text and load_catalogue("so").gettext("Who answered, and when") in text
