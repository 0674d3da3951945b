"""The staff child page offers to ask the population register again about the child's
guardians to those the permission policy lets check them, and shows what it answered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from adapters.population_file import register_text
from contracts.events import GuardianLinkChecked
from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import family
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, card_payload, directory, staff
from tests.web.conftest import BASE_URL
from tests.web.test_child_pages import hidden, sign_in

BUTTON = "Kontrollera vårdnadshavarna igen"


@pytest.fixture
def register_file(tmp_path: Path) -> Path:
    path = tmp_path / "population.json"
    path.write_text(register_text({CHILD_PNR: {GUARDIAN_1_PNR}}), encoding="utf-8")
    return path


@pytest.fixture
def rt(register_file: Path, clock: SettableClock) -> Iterator[Runtime]:
    runtime = bootstrap(
        Settings(store="memory", demo_mode=True, population_register_file=register_file), clock=clock, directory=directory()
    )
    yield runtime
    runtime.close()


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(rt), base_url=BASE_URL) as c:
        yield c


def unconfirmed_child(rt: Runtime, register_file: Path) -> UUID:
    """Alva, registered while the register was away, with a card to the school's principal,
    who becomes her Barnkontakt."""
    away = register_file.with_name("away.json")
    register_file.rename(away)
    child = UUID(str(rt.hub.register_child(
        staff("larare.ostra"), personnummer=CHILD_PNR, given_name="Alva", family_name="Lind",
        guardians=[{"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True}],
    )))
    away.rename(register_file)
    rt.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload("skola-ostra"))
    rt.hub.assign_barnkontakt(staff("rektor.ostra"), child, staff_id="rektor.ostra")
    return child


def checks(rt: Runtime, child: UUID) -> int:
    facts = (rt.hub.mapper.to_domain_event(n).fact for n in rt.hub.recorder.select_notifications(1, 10_000))
    return sum(isinstance(f, GuardianLinkChecked) and f.child_id == child for f in facts)


def test_the_barnkontakt_checks_the_guardians_again_from_the_child_page_and_sees_the_answer(
    rt: Runtime, client: TestClient[Any], register_file: Path
) -> None:
    child = unconfirmed_child(rt, register_file)
    assert rt.hub.family_children(family(rt, GUARDIAN_1_PNR)) == []
    sign_in(client, "rektor.ostra")
    page = client.get(f"/staff/children/{child}")
    assert page.status_code == 200 and BUTTON in page.text

    forged = client.post(f"/staff/children/{child}/guardians/check", data={"csrf_token": "x", "form_id": "g0"}, follow_redirects=False)
    assert forged.status_code == 403 and checks(rt, child) == 0

    sent = client.post(
        f"/staff/children/{child}/guardians/check",
        data={"csrf_token": hidden(page.text, "csrf_token"), "form_id": "g1"}, follow_redirects=False,
    )
    assert sent.status_code == 303
    shown = client.get(sent.headers["location"])
    assert "Folkbokföringen har frågats igen: 1 av 1 vårdnadshavare med vårdnad är bekräftade." in shown.text
    assert checks(rt, child) == 1
    assert [c.child_id for c in rt.hub.family_children(family(rt, GUARDIAN_1_PNR))] == [child]


def test_staff_the_policy_does_not_let_check_see_no_button_and_cannot_send_the_form(
    rt: Runtime, client: TestClient[Any], register_file: Path
) -> None:
    """The school's counsellor at pupil health, who sent a card of their own, sees the child's
    page but is neither the registering unit nor the case's."""
    child = unconfirmed_child(rt, register_file)
    rt.hub.submit_discovery_card(staff("kurator.ostra"), child, **card_payload("skola-ostra"))
    sign_in(client, "kurator.ostra")
    page = client.get(f"/staff/children/{child}")
    assert page.status_code == 200, page.text
    assert BUTTON not in page.text and "/guardians/check" not in page.text

    sent = client.post(
        f"/staff/children/{child}/guardians/check",
        data={"csrf_token": hidden(page.text, "csrf_token"), "form_id": "g1"}, follow_redirects=False,
    )
    assert sent.status_code in (403, 404)
    assert checks(rt, child) == 0
    assert rt.hub.family_children(family(rt, GUARDIAN_1_PNR)) == []
