"""The family's "who has seen" page: the staff's reads per month and unit in plain Swedish,
the family's own reads left out, narrowed by principal and days; each read's proof checked
by the hub on a page of its own, downloadable, and refused when tampered with."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any
from uuid import UUID

from litestar.testing import TestClient

from hub.http import create_app
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from hub.tlog.proof_document import check_document
from tests.conftest import family, register_child
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, NON_CUSTODIAL_PNR, card_payload, staff
from tests.web.conftest import BASE_URL, post_sign_in

BK = "rektor.ostra"


def client(rt: Runtime) -> TestClient[Any]:
    return TestClient(create_app(rt), base_url=BASE_URL)


def sign_in(c: TestClient[Any], personnummer: str) -> None:
    assert post_sign_in(c, kind="guardian", personnummer=personnummer).status_code == 303


def advance(rt: Runtime, **delta: float) -> None:
    assert isinstance(rt.hub.clock, SettableClock)
    rt.hub.clock.advance(timedelta(**delta))


def alva(rt: Runtime) -> UUID:
    """Alva, a card from the police to the school, and the school's principal as her Barnkontakt."""
    child = UUID(str(register_child(rt)))
    rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload())
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    return child


def log_page(rt: Runtime, child: UUID, **params: str) -> Any:
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        return anna.get(f"/family/children/{child}/access-log", params=params)


def test_a_units_reads_in_a_month_are_one_line_in_plain_swedish(rt: Runtime) -> None:
    child = alva(rt)
    for _ in range(3):
        rt.hub.read_child(staff(BK), child, purpose="Förbereda barnsamtalet", view="unit_view")
        advance(rt, hours=1)
    advance(rt, days=31)
    rt.hub.read_child(staff(BK), child, purpose="Inför mötet", view="unit_view")
    text = log_page(rt, child).text
    assert "Skola Ostra tittade på uppgifter om Alva Lind 3 gånger" in text
    assert "Skola Ostra tittade på uppgifter om Alva Lind en gång" in text
    assert "mars 2026" in text and "april 2026" in text
    assert text.index("april 2026") < text.index("mars 2026"), "the newest month comes first"
    assert "Förbereda barnsamtalet" in text and "verksamhetens egen dokumentation" in text


def test_the_familys_own_reads_are_not_listed(rt: Runtime) -> None:
    child = alva(rt)
    guardian = family(rt, GUARDIAN_2_PNR)
    for _ in range(5):
        rt.hub.read_child(guardian, child, purpose="Vårdnadshavare ser sitt barns uppgifter", view="family_view")
    text = log_page(rt, child).text
    assert "Vårdnadshavare ser sitt barns uppgifter" not in text
    assert "Familjen:" not in text and "En vårdnadshavare" not in text


def test_the_case_list_and_a_read_without_a_purpose_are_explained_in_swedish(rt: Runtime) -> None:
    child = alva(rt)
    rt.hub.case_list(staff(BK), purpose="Barnkontakt: case list")
    rt.hub.read_child(staff(BK), child, purpose="unit view", view="unit_view")
    text = log_page(rt, child).text
    assert "såg barnet i sin ärendelista" in text and "Barnkontaktens ärendelista" in text
    assert "öppnade barnets uppgifter" in text
    for english in ("case list", "unit view", "Barnkontakt:", "unit_view", "leaf hash", "audit path", "Lövets hashvärde"):
        assert english not in text


def test_the_list_is_narrowed_by_principal_and_by_days(rt: Runtime) -> None:
    child = alva(rt)
    rt.hub.read_child(staff(BK), child, purpose="Skolans läsning", view="unit_view")
    advance(rt, days=3)
    rt.hub.read_child(staff("polis.ystad"), child, purpose="Polisens läsning", view="unit_view")
    police = log_page(rt, child, agency="police").text
    assert "Polisens läsning" in police and "Skolans läsning" not in police
    municipality = log_page(rt, child, agency="municipality").text
    assert "Skolans läsning" in municipality and "Polisens läsning" not in municipality
    early = log_page(rt, child, since="2026-03-01", until="2026-03-03").text
    assert "Skolans läsning" in early and "Polisens läsning" not in early


def test_a_bad_filter_names_the_field_and_lists_nothing(rt: Runtime) -> None:
    child = alva(rt)
    page = log_page(rt, child, since="2026-04-10", until="2026-04-01", agency="nasa")
    assert page.status_code == 422
    assert "Sista dagen får inte vara före den första." in page.text
    assert "Välj en av huvudmännen i listan." in page.text


def verify_link(text: str) -> str:
    found = re.search(r'href="(/family/children/[^"]+/access-log/\d+/verify[^"]*)"', text)
    assert found, "the read has a link to check it"
    return html.unescape(found.group(1))


def test_a_reads_proof_is_checked_by_the_hub_and_can_be_downloaded_and_checked_again(rt: Runtime) -> None:
    child = alva(rt)
    rt.hub.read_child(staff(BK), child, purpose="Förbereda barnsamtalet", view="unit_view")
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        link = verify_link(anna.get(f"/family/children/{child}/access-log").text)
        verified = anna.get(link)
        download = anna.get(link.split("?")[0].replace("/verify", "/proof.json"))
        document = download.json()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', verified.text).group(1)  # type: ignore[union-attr]
        kept = anna.post(f"/family/children/{child}/access-log/check", data={"csrf_token": csrf, "proof": download.text})
        tampered = {**document, "audit_path": list(reversed(document["audit_path"])) + ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]}
        refused = anna.post(f"/family/children/{child}/access-log/check", data={"csrf_token": csrf, "proof": json.dumps(tampered)})
        garbage = anna.post(f"/family/children/{child}/access-log/check", data={"csrf_token": csrf, "proof": "{not json"})
    assert verified.status_code == 200 and "Kontrollerad." in verified.text and "Inte kontrollerad" not in verified.text
    assert "RFC 9162" in verified.text and "proof.json" in verified.text
    assert download.headers["content-type"].startswith("application/json")
    assert f"/access-log/{document['position']}/verify" in link
    log = rt.transparency
    assert log is not None
    assert check_document(document, log.verifier(), log.origin).holds
    assert kept.status_code == 200 and "Kontrollerad." in kept.text
    assert refused.status_code == 422 and "Inte kontrollerad." in refused.text
    assert garbage.status_code == 422 and "inte ett bevis från loggen" in garbage.text


def test_another_family_sees_nothing_and_cannot_have_the_childs_proofs(rt: Runtime) -> None:
    child = alva(rt)
    other = rt.hub.register_child(
        staff("larare.ostra"), personnummer="201103202386", given_name="Olle", family_name="Berg",
        guardians=[{"name": "Ove Berg", "personnummer": NON_CUSTODIAL_PNR, "has_custody": True}],
    )
    rt.hub.read_child(staff(BK), child, purpose="Förbereda barnsamtalet", view="unit_view")
    rt.hub.read_child(staff("larare.ostra"), other, purpose="Olles skolstart", view="unit_view")
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        alva_link = verify_link(anna.get(f"/family/children/{child}/access-log").text)
    with client(rt) as ove:
        sign_in(ove, NON_CUSTODIAL_PNR)
        olle_link = verify_link(ove.get(f"/family/children/{other}/access-log").text)
        refused = [
            ove.get(f"/family/children/{child}/access-log"),
            ove.get(alva_link),
            ove.get(alva_link.split("?")[0].replace("/verify", "/proof.json")),
            ove.get(alva_link.replace(str(child), str(other))),  # Alva's read asked for as Olle's
        ]
    for page in refused:
        assert page.status_code in (403, 404), page.request.url
        assert "Alva" not in page.text and "Förbereda barnsamtalet" not in page.text
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        assert anna.get(olle_link.replace(str(other), str(child))).status_code == 404
