"""The child signs in from the configured age and sees their own information; younger, not."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from hub.runtime.bootstrap import Runtime
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, staff
from tests.web.conftest import post_sign_in

OLDER = "200909153041"
"""Born 15 September 2009: sixteen at the tests' start, past the default age of 15."""
YOUNGER = "201507122388"
"""Born 12 July 2015: ten."""


def register(rt: Runtime, personnummer: str, given_name: str) -> Any:
    return rt.hub.register_child(
        staff("larare.ostra"),
        personnummer=personnummer,
        given_name=given_name,
        family_name="Lind",
        guardians=[
            {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
            {"name": "Bo Lind", "personnummer": GUARDIAN_2_PNR, "has_custody": True},
        ],
    )


def test_a_sixteen_year_old_sees_their_own_page_and_consents(rt: Runtime, client: TestClient[Any]) -> None:
    child = register(rt, OLDER, "Vera")
    signed_in = post_sign_in(client, kind="child", personnummer=OLDER)
    assert signed_in.headers["location"] == "/family"

    own = client.get("/family")
    page = client.get(f"/family/children/{child}")

    assert own.status_code == 200 and "Mina uppgifter" in own.text and "Vera" in own.text
    assert page.status_code == 200 and "Vera" in page.text
    assert client.get(f"/family/children/{child}/consents").status_code == 200


def test_a_ten_year_old_is_not_shown_the_record(rt: Runtime, client: TestClient[Any]) -> None:
    child = register(rt, YOUNGER, "Alva")
    post_sign_in(client, kind="child", personnummer=YOUNGER)

    page = client.get(f"/family/children/{child}")

    assert page.status_code in (403, 404)
    assert "Alva" not in page.text
