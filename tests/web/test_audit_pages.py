"""The auditors' pages: search the access log and find a read, record a finding through
the form once however often it is sent, see it among the findings, and see the signed
checkpoint; nobody but an auditor gets in."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from hub.tlog.witness import WITNESSED_FILE
from tests.conftest import register_child
from tests.factories import card_payload, directory, staff
from tests.web.conftest import BASE_URL, post_sign_in

BK = "rektor.ostra"


def sign_in(client: TestClient[Any], user: str) -> None:
    response = post_sign_in(client, kind="staff", user=user)
    assert response.status_code == 303, response.text


def a_read(rt: Runtime) -> Any:
    """A card to the school, and its Barnkontakt reads the child; the auditor comes later."""
    child = register_child(rt)
    rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload())
    rt.hub.read_child(staff(BK), child, purpose="Barnkontakt: case page")
    assert isinstance(rt.hub.clock, SettableClock)
    rt.hub.clock.advance(timedelta(minutes=5))
    return child


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def test_an_auditor_searches_the_log_and_finds_the_barnkontakts_read(rt: Runtime, client: TestClient[Any]) -> None:
    child = a_read(rt)
    sign_in(client, "granskare.ystad")
    page = client.get("/audit", params={"child_id": str(child), "accessor_id": BK, "since": "2026-03-01", "until": "2026-03-02"})
    assert page.status_code == 200
    assert "Barnkontakt: case page" in page.text
    main = page.text[page.text.index("<main"):]
    assert "Alva Lind" in main and "Rektor Ostra" in main and "Skola Ostra" in main
    assert str(child) not in main and BK not in main.replace(f'value="{BK}"', "")
    assert "Tillåten" in page.text  # allowed, in words
    nothing = client.get("/audit", params={"child_id": str(child), "since": "2026-03-03"})
    assert "Barnkontakt: case page" not in nothing.text


def test_a_search_with_a_malformed_personnummer_keeps_what_was_typed_and_marks_the_field(rt: Runtime, client: TestClient[Any]) -> None:
    a_read(rt)
    sign_in(client, "granskare.ystad")
    page = client.get("/audit", params={"child": "20150712-0000", "accessor_id": BK})
    assert page.status_code == 422
    assert 'value="20150712-0000" autocomplete="off" aria-invalid="true" aria-describedby="child-error"' in page.text
    assert f'value="{BK}" selected' in page.text


def test_a_finding_sent_twice_is_recorded_once_and_shown_among_the_findings(rt: Runtime, client: TestClient[Any]) -> None:
    a_read(rt)
    sign_in(client, "granskare.ystad")
    review = client.get("/audit/review")
    assert review.status_code == 200
    form_html = review.text[review.text.index('action="/audit/reviews"'):]
    form = {
        name: hidden(form_html, name) for name in ("csrf_token", "form_id", "child_id", "access_event_id", "back")
    }
    form["back"] = form["back"].replace("&amp;", "&")
    sent = {**form, "outcome": "needs_follow_up", "note": "Fråga rektorn om syftet"}
    before = rt.hub.log_length()
    first = client.post("/audit/reviews", data=sent, follow_redirects=False)
    again = client.post("/audit/reviews", data=sent, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert first.headers["location"].startswith("/audit/review?")
    assert rt.hub.log_length() == before + 1
    rt.hub.refresh_views()
    assert [r.outcome.value for r in rt.hub.views.access.reviews("ystad")] == ["needs_follow_up"]

    shown = client.get("/audit/reviews")
    assert "Behöver följas upp" in shown.text
    assert "Fråga rektorn om syftet" in shown.text
    main = shown.text[shown.text.index("<main"):]
    assert "Alva Lind" in main and "Granskare Ystad" in main
    assert form["access_event_id"] not in main and form["child_id"] not in main


def test_a_finding_without_an_outcome_is_not_recorded_and_the_note_is_kept(rt: Runtime, client: TestClient[Any]) -> None:
    a_read(rt)
    sign_in(client, "granskare.ystad")
    review = client.get("/audit/review").text
    form_html = review[review.index('action="/audit/reviews"'):]
    form = {name: hidden(form_html, name) for name in ("csrf_token", "form_id", "child_id", "access_event_id", "back")}
    before = rt.hub.log_length()
    response = client.post("/audit/reviews", data={**form, "note": "Mitt utkast"})
    assert rt.hub.log_length() == before
    assert response.status_code == 422
    assert "Mitt utkast</textarea>" in response.text
    assert 'class="field-error"' in response.text
    rt.hub.refresh_views()
    assert rt.hub.views.access.reviews("ystad") == []


def test_a_barnkontakt_is_refused_every_audit_page(rt: Runtime, client: TestClient[Any]) -> None:
    child = a_read(rt)
    sign_in(client, BK)
    for path in ("/audit", "/audit/review", "/audit/reviews", "/audit/checkpoint"):
        page = client.get(path, params={"child_id": str(child)} if path == "/audit" else None)
        assert page.status_code == 403, path
        assert "Barnkontakt: case page" not in page.text


def test_the_checkpoint_page_shows_the_signed_size_and_root_and_that_the_log_verifies(rt: Runtime, client: TestClient[Any]) -> None:
    a_read(rt)
    sign_in(client, "granskare.ystad")
    assert "Ingen kontrollpunkt har signerats ännu." in client.get("/audit/checkpoint").text
    assert rt.transparency is not None
    signed = rt.transparency.checkpoint_now()
    page = client.get("/audit/checkpoint")
    assert page.status_code == 200
    assert re.search(rf"<dd>{signed.size}</dd>", page.text)
    assert base64.b64encode(signed.root_hash).decode() in page.text
    assert rt.transparency.verifier().encode() in page.text
    assert "Loggen stämmer:" in page.text


def test_the_checkpoint_page_says_when_the_witness_has_lost_its_record(tmp_path: Path, clock: SettableClock) -> None:
    settings = Settings(store="sqlite", data_dir=tmp_path / "data", demo_mode=True, witness_dir=tmp_path / "witness")
    rt = bootstrap(settings, clock=clock, directory=directory())
    try:
        register_child(rt)
        assert rt.transparency is not None
        rt.transparency.checkpoint_now()
        (tmp_path / "witness" / WITNESSED_FILE).unlink()
        with TestClient(create_app(rt), base_url=BASE_URL) as client:
            sign_in(client, "granskare.ystad")
            page = client.get("/audit/checkpoint")
    finally:
        rt.close()
    assert page.status_code == 200
    assert "vittnet har förlorat sitt register" in page.text
    assert "backa audit witness adopt" in page.text


def test_a_reader_who_has_since_left_the_area_is_still_named_in_the_access_log(rt: Runtime, client: TestClient[Any]) -> None:
    child = a_read(rt)
    rt.hub.remove_staff(staff("admin.ystad"), BK)  # the Barnkontakt leaves; the read stays theirs

    sign_in(client, "granskare.ystad")
    page = client.get("/audit", params={"child_id": str(child), "since": "2026-03-01", "until": "2026-03-02"})

    main = page.text[page.text.index("<main"):]
    assert "Barnkontakt: case page" in main and "Rektor Ostra" in main
