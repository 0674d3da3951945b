"""Attacks on the new pages as an outsider makes them: another family's proof pasted on a
child's access log."""

from __future__ import annotations

import re

from hub.runtime.bootstrap import Runtime
from tests.factories import GUARDIAN_1_PNR, NON_CUSTODIAL_PNR, staff
from tests.web.test_family_access_log import BK, alva, client, sign_in, verify_link


def test_a_proof_of_another_childs_read_is_not_verified_on_this_childs_log(rt: Runtime) -> None:
    child = alva(rt)
    other = rt.hub.register_child(
        staff("larare.ostra"), personnummer="201103202386", given_name="Olle", family_name="Berg",
        guardians=[{"name": "Ove Berg", "personnummer": NON_CUSTODIAL_PNR, "has_custody": True}],
    )
    rt.hub.read_child(staff(BK), child, purpose="Förbereda barnsamtalet", view="unit_view")
    rt.hub.read_child(staff("larare.ostra"), other, purpose="Olles skolstart", view="unit_view")
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        link = verify_link(anna.get(f"/family/children/{child}/access-log").text)
        alvas_proof = anna.get(link.split("?")[0].replace("/verify", "/proof.json")).text
    with client(rt) as ove:
        sign_in(ove, NON_CUSTODIAL_PNR)
        page = ove.get(verify_link(ove.get(f"/family/children/{other}/access-log").text))
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        checked = ove.post(f"/family/children/{other}/access-log/check", data={"csrf_token": csrf, "proof": alvas_proof})

    assert checked.status_code == 422
    assert "Inte kontrollerad." in checked.text and "Kontrollerad." not in checked.text.replace("Inte kontrollerad.", "")
    assert "inte en av de gånger någon har tittat på det här barnets uppgifter" in checked.text
