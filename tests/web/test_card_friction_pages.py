"""Less friction for the discoverer: one guardian's number registers a child (the population
register names the rest), "Mina kort" names each child, and the card's recipient is chosen
for them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from adapters.population_file import register_text
from contracts.events import ChildRegistered
from contracts.vocabulary import RegisterAnswer
from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, card_payload, directory, registration_payload, staff
from tests.web.conftest import BASE_URL, post_sign_in
from tests.web.test_staff_pages import hidden


def signed_in(rt: Runtime, user: str) -> TestClient[Any]:
    client = TestClient(create_app(rt), base_url=BASE_URL)
    client.__enter__()
    assert post_sign_in(client, kind="staff", user=user).status_code == 303
    return client


@pytest.fixture
def registered_rt(tmp_path: Path, clock: SettableClock) -> Iterator[Runtime]:
    """A hub whose population register lists Alva's two vårdnadshavare."""
    register = tmp_path / "population.json"
    register.write_text(register_text({CHILD_PNR: {GUARDIAN_1_PNR, GUARDIAN_2_PNR}}), encoding="utf-8")
    runtime = bootstrap(
        Settings(store="memory", demo_mode=True, population_register_file=register), clock=clock, directory=directory()
    )
    yield runtime
    runtime.close()


def test_one_guardians_number_registers_the_child_and_the_register_adds_the_other(registered_rt: Runtime) -> None:
    teacher = signed_in(registered_rt, "larare.ostra")
    form = teacher.get("/staff/children/new")
    assert "folkbokföringen lägger till barnets andra vårdnadshavare" in form.text
    r = teacher.post(
        "/staff/children/new",
        data={**hidden(form.text), "personnummer": CHILD_PNR, "given_name": "Alva", "family_name": "Lind",
              "guardian1_name": "Anna Lind", "guardian1_personnummer": GUARDIAN_1_PNR, "guardian1_custody": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    hub = registered_rt.hub
    (registered,) = [
        f for f in (hub.mapper.to_domain_event(n).fact for n in hub.recorder.select_notifications(1, 100))
        if isinstance(f, ChildRegistered)
    ]
    assert [(g.personnummer, g.has_custody, g.register_answer) for g in registered.guardians] == [
        (GUARDIAN_1_PNR, True, RegisterAnswer.CONFIRMED),
        (GUARDIAN_2_PNR, True, RegisterAnswer.CONFIRMED),
    ]
    teacher.__exit__(None, None, None)


def test_my_cards_names_each_child_the_card_is_about(rt: Runtime) -> None:
    child_id = rt.hub.register_child(staff("larare.ostra"), **registration_payload())
    rt.hub.submit_discovery_card(staff("larare.ostra"), child_id, **card_payload())
    teacher = signed_in(rt, "larare.ostra")
    page = teacher.get("/staff/cards")
    assert page.status_code == 200
    row = page.text.split("<tbody>")[1]
    assert re.search(r'<th scope="row">\s*Alva Lind\s*</th>', row)
    teacher.__exit__(None, None, None)


@pytest.mark.parametrize(
    ("user", "chosen"),
    [
        ("larare.ostra", "skola-ostra"),  # her own unit has a Barnkontakt
        ("forskola.solen", "skola-ostra"),  # a preschool without one: the municipality's unit that has
        ("barnmorska.mvc", "bvc-ystad"),  # the region's
    ],
)
def test_the_card_goes_by_default_to_a_barnkontakt_of_the_senders_own_organisation(rt: Runtime, user: str, chosen: str) -> None:
    child_id = rt.hub.register_child(staff("larare.ostra"), **registration_payload())
    client = signed_in(rt, user)
    form = client.get(f"/staff/cards/new?child_id={child_id}").text
    selected = re.findall(r'<option value="([\w-]+)" selected>', form)
    assert selected == [chosen]
    client.__exit__(None, None, None)
