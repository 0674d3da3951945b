"""A guardian named at registration has a say only once the population register confirms the
custody: a number typed into the form, the registering staff member's own included, gives
nobody family access, and their consent does not count.

The hub here has a real register file (``BACKA_POPULATION_REGISTER_FILE``) that knows Alva
and her guardians Anna and Bo, and nobody else."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from adapters.population_file import RegisterFileError, register_text
from contracts.events import ChildRegistered, GuardianLinkChecked
from contracts.vocabulary import RegisterAnswer
from hub.cli import main
from hub.errors import ChildNotFoundError, ConsentError, RegisterUnavailableError
from hub.http import create_app
from hub.identity.population import NoRegister
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock, system_clock
from hub.runtime.settings import Settings
from tests.conftest import family
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, STAFF, TENANT, card_payload, directory, staff
from tests.web.conftest import BASE_URL

API = "/api/v1"
BK = "rektor.ostra"
TEACHER = "larare.ostra"
TEACHERS_OWN_PNR = "197001019806"
"""The registering teacher's own personnummer, typed in as the child's guardian."""
RANDOM_PNR = "198501012382"
"""Anybody's number."""
PURPOSE = "Samordna stödet kring rasterna"


def write_register(path: Path, custodians: dict[str, Collection[str]]) -> Path:
    path.write_text(register_text(custodians), encoding="utf-8")
    return path


@pytest.fixture
def register_file(tmp_path: Path) -> Path:
    return write_register(tmp_path / "population.json", {CHILD_PNR: {GUARDIAN_1_PNR, GUARDIAN_2_PNR}})


@pytest.fixture
def rt(register_file: Path, clock: SettableClock) -> Iterator[Runtime]:
    runtime = bootstrap(
        Settings(store="memory", demo_mode=True, population_register_file=register_file), clock=clock, directory=directory()
    )
    yield runtime
    runtime.close()


@pytest.fixture
def api(rt: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(rt), base_url=BASE_URL) as c:
        yield c


def as_staff(rt: Runtime, user_id: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    unit, roles = STAFF[user_id]
    return {"Authorization": f"Bearer {rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles))}"}


def as_guardian(rt: Runtime, personnummer: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    return {"Authorization": f"Bearer {rt.demo_issuer.family_token(TENANT, 'guardian', personnummer)}"}


def register(api: TestClient[Any], rt: Runtime, *guardians: str) -> UUID:
    body = {
        "personnummer": CHILD_PNR, "given_name": "Alva", "family_name": "Lind",
        "guardians": [{"name": f"Vårdnadshavare {n}", "personnummer": g, "has_custody": True} for n, g in enumerate(guardians, 1)],
    }
    r = api.post(f"{API}/children", json=body, headers=as_staff(rt, TEACHER))
    assert r.status_code == 201, r.text
    return UUID(r.json()["child_id"])


def with_consent_request(rt: Runtime, child: UUID) -> UUID:
    rt.hub.submit_discovery_card(staff(TEACHER), child, **card_payload())
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    return rt.hub.request_consent(staff(BK), child, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose=PURPOSE)


def answers(rt: Runtime, child: UUID) -> list[RegisterAnswer]:
    """The register's answers on record, in order: at registration, then each check again."""
    out: list[RegisterAnswer] = []
    for f in facts(rt, child):
        if isinstance(f, ChildRegistered):
            out += [g.register_answer for g in f.guardians if g.has_custody]
        elif isinstance(f, GuardianLinkChecked):
            out.append(f.answer)
    return out


def facts(rt: Runtime, child: UUID) -> list[Any]:
    return [rt.hub.mapper.to_domain_event(n).fact for n in rt.hub.recorder.select_notifications(1, 10_000) if n.originator_id == child]


def assert_no_family_access(api: TestClient[Any], rt: Runtime, child: UUID, personnummer: str) -> None:
    """What an unconnected guardian gets: nothing listed, 404 or 403 everywhere, no name."""
    headers = as_guardian(rt, personnummer)
    listed = api.get(f"{API}/me/children", headers=headers)
    assert listed.status_code == 200 and listed.json() == []
    for path in (f"/children/{child}", f"/children/{child}/access-log", f"/children/{child}/consents"):
        r = api.get(f"{API}{path}", headers=headers)
        assert r.status_code in (403, 404), (path, r.status_code)
        assert "Alva" not in r.text and "Lind" not in r.text and PURPOSE not in r.text
    assert rt.hub.family_children(family(rt, personnummer)) == []


# -- the attack: any number typed in as a guardian ---------------------------------------------------------


@pytest.mark.parametrize("named", [TEACHERS_OWN_PNR, RANDOM_PNR], ids=["the staff member's own number", "a random number"])
def test_a_guardian_the_register_does_not_know_gets_no_family_access(api: TestClient[Any], rt: Runtime, named: str) -> None:
    child = register(api, rt, named)

    assert answers(rt, child) == [RegisterAnswer.NOT_A_CUSTODIAN]
    assert_no_family_access(api, rt, child, named)


@pytest.mark.parametrize("named", [TEACHERS_OWN_PNR, RANDOM_PNR], ids=["the staff member's own number", "a random number"])
def test_consent_from_a_guardian_the_register_does_not_know_does_not_count(
    api: TestClient[Any], rt: Runtime, register_file: Path, named: str
) -> None:
    write_register(register_file, {CHILD_PNR: {GUARDIAN_1_PNR}})  # Anna has sole custody
    child = register(api, rt, GUARDIAN_1_PNR, named)
    consent = with_consent_request(rt, child)

    grant = api.post(f"{API}/children/{child}/consents/{consent}/grant", headers=as_guardian(rt, named))
    decline = api.post(f"{API}/children/{child}/consents/{consent}/decline", headers=as_guardian(rt, named))
    assert grant.status_code == 404 and decline.status_code == 404  # as for any child they have no part in
    assert_no_family_access(api, rt, child, named)

    rt.hub.grant_consent(family(rt, GUARDIAN_1_PNR), child, consent)
    (overview,) = rt.hub.consent_overview(family(rt, GUARDIAN_1_PNR), child)
    assert overview.status == "in_effect"  # Anna, the one guardian the register confirms, has answered for the child
    assert [a.is_you for a in overview.parties] == [True]


def test_a_child_whose_named_guardians_are_all_unknown_to_the_register_cannot_be_asked_for_consent(api: TestClient[Any], rt: Runtime) -> None:
    child = register(api, rt, TEACHERS_OWN_PNR)
    rt.hub.submit_discovery_card(staff(TEACHER), child, **card_payload())
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    with pytest.raises(ConsentError):
        rt.hub.request_consent(staff(BK), child, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose=PURPOSE)


def test_guardians_the_register_confirms_see_their_child_and_answer_for_it(api: TestClient[Any], rt: Runtime) -> None:
    child = register(api, rt, GUARDIAN_1_PNR, GUARDIAN_2_PNR)
    consent = with_consent_request(rt, child)

    assert answers(rt, child) == [RegisterAnswer.CONFIRMED, RegisterAnswer.CONFIRMED]
    listed = api.get(f"{API}/me/children", headers=as_guardian(rt, GUARDIAN_1_PNR))
    assert [UUID(c["child_id"]) for c in listed.json()] == [child]
    read = api.get(f"{API}/children/{child}", headers=as_guardian(rt, GUARDIAN_1_PNR))
    assert read.status_code == 200 and "Alva" in read.text
    for g in (GUARDIAN_1_PNR, GUARDIAN_2_PNR):
        r = api.post(f"{API}/children/{child}/consents/{consent}/grant", headers=as_guardian(rt, g))
        assert r.status_code == 201, r.text
    assert rt.hub.consent_overview(family(rt, GUARDIAN_2_PNR), child)[0].status == "in_effect"


def test_a_later_check_is_on_record_without_a_personnummer(api: TestClient[Any], rt: Runtime, register_file: Path) -> None:
    write_register(register_file, {CHILD_PNR: {GUARDIAN_1_PNR}})  # Anna has sole custody
    child = register(api, rt, GUARDIAN_1_PNR, TEACHERS_OWN_PNR)
    rt.hub.check_guardians(staff(TEACHER), child)
    checked = [f for f in facts(rt, child) if isinstance(f, GuardianLinkChecked)]
    assert [f.answer for f in checked] == [RegisterAnswer.CONFIRMED, RegisterAnswer.NOT_A_CUSTODIAN]
    for fact in checked:
        text = fact.model_dump_json()
        assert GUARDIAN_1_PNR not in text and TEACHERS_OWN_PNR not in text and CHILD_PNR not in text
        assert fact.type_name == "backa.v1.GuardianLinkChecked"


def test_a_registration_that_names_one_vardnadshavare_has_the_register_add_the_other_so_both_are_asked(
    api: TestClient[Any], rt: Runtime
) -> None:
    """The register lists Anna and Bo; the form names Anna only. One number is enough: the
    register adds Bo with custody, so a consent takes effect only on both their yeses, and
    Bo, who shares custody, is asked and sees his child."""
    child = register(api, rt, GUARDIAN_1_PNR)

    assert answers(rt, child) == [RegisterAnswer.CONFIRMED, RegisterAnswer.CONFIRMED]
    (registered,) = [f for f in facts(rt, child) if isinstance(f, ChildRegistered)]
    assert [g.personnummer for g in registered.guardians] == [GUARDIAN_1_PNR, GUARDIAN_2_PNR]
    assert registered.guardians[1].name == "Vårdnadshavare enligt folkbokföringen"
    rt.hub.submit_discovery_card(staff(TEACHER), child, **card_payload())
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    consent = rt.hub.request_consent(staff(BK), child, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose=PURPOSE)
    rt.hub.grant_consent(family(rt, GUARDIAN_1_PNR), child, consent)
    assert rt.hub.consent_overview(family(rt, GUARDIAN_1_PNR), child)[0].status == "pending", "Anna does not answer alone"
    assert api.get(f"{API}/me/children", headers=as_guardian(rt, GUARDIAN_2_PNR)).json() == [{"child_id": str(child)}]


def test_a_registration_whose_numbers_the_register_does_not_know_adds_nobody(api: TestClient[Any], rt: Runtime) -> None:
    """Only a number the register confirms lets it name the rest: a wrong number typed in
    gives neither the typist nor the real vårdnadshavare a link through the form."""
    child = register(api, rt, RANDOM_PNR)
    assert answers(rt, child) == [RegisterAnswer.NOT_A_CUSTODIAN]
    assert_no_family_access(api, rt, child, GUARDIAN_1_PNR)


def test_a_later_check_that_finds_a_vardnadshavare_not_named_ends_the_named_one_s_say(
    api: TestClient[Any], rt: Runtime, register_file: Path
) -> None:
    write_register(register_file, {CHILD_PNR: {GUARDIAN_1_PNR}})
    child = register(api, rt, GUARDIAN_1_PNR)
    assert api.get(f"{API}/children/{child}", headers=as_guardian(rt, GUARDIAN_1_PNR)).status_code == 200

    write_register(register_file, {CHILD_PNR: {GUARDIAN_1_PNR, GUARDIAN_2_PNR}})  # custody is now joint
    checked = api.post(f"{API}/children/{child}/guardians/check", headers=as_staff(rt, TEACHER))

    assert checked.status_code == 200 and [g["answer"] for g in checked.json()["guardians"]] == ["custodian_not_named"]
    assert_no_family_access(api, rt, child, GUARDIAN_1_PNR)


# -- the register down, and checked again later ------------------------------------------------------------


def test_a_register_down_at_registration_leaves_the_guardians_unconfirmed_until_a_later_check_confirms_them(
    api: TestClient[Any], rt: Runtime, register_file: Path
) -> None:
    write_register(register_file, {CHILD_PNR: {GUARDIAN_1_PNR}})  # Anna has sole custody
    away = register_file.with_name("away.json")
    register_file.rename(away)  # the register cannot be reached
    child = register(api, rt, GUARDIAN_1_PNR)
    assert answers(rt, child) == [RegisterAnswer.REGISTER_UNAVAILABLE]
    assert_no_family_access(api, rt, child, GUARDIAN_1_PNR)

    before = rt.hub.log_length()
    down = api.post(f"{API}/children/{child}/guardians/check", headers=as_staff(rt, TEACHER))
    assert down.status_code == 503
    assert down.headers["content-type"].startswith("application/problem+json")
    assert down.json()["type"].endswith("register-unavailable") and "Retry-After" in down.headers
    assert rt.hub.log_length() == before

    away.rename(register_file)  # the register answers again
    checked = api.post(f"{API}/children/{child}/guardians/check", headers=as_staff(rt, TEACHER))
    assert checked.status_code == 200, checked.text
    assert [g["answer"] for g in checked.json()["guardians"]] == ["confirmed"]
    assert answers(rt, child) == [RegisterAnswer.REGISTER_UNAVAILABLE, RegisterAnswer.CONFIRMED]
    read = api.get(f"{API}/children/{child}", headers=as_guardian(rt, GUARDIAN_1_PNR))
    assert read.status_code == 200 and "Alva" in read.text


def test_a_later_check_that_the_register_answers_no_ends_the_guardian_s_access(api: TestClient[Any], rt: Runtime, register_file: Path) -> None:
    child = register(api, rt, GUARDIAN_1_PNR, GUARDIAN_2_PNR)
    assert api.get(f"{API}/children/{child}", headers=as_guardian(rt, GUARDIAN_2_PNR)).status_code == 200

    write_register(register_file, {CHILD_PNR: {GUARDIAN_1_PNR}})  # custody changed: Bo no longer has it
    rt.hub.check_guardians(staff("admin.ystad"), child)

    assert_no_family_access(api, rt, child, GUARDIAN_2_PNR)
    assert api.get(f"{API}/children/{child}", headers=as_guardian(rt, GUARDIAN_1_PNR)).status_code == 200


def test_only_the_registering_unit_the_case_s_unit_or_the_administrator_checks_again(
    api: TestClient[Any], rt: Runtime, register_file: Path
) -> None:
    write_register(register_file, {CHILD_PNR: {GUARDIAN_1_PNR}})  # Anna has sole custody
    child = register(api, rt, GUARDIAN_1_PNR)
    path = f"{API}/children/{child}/guardians/check"
    assert api.post(path, headers=as_staff(rt, "bup.ystad")).status_code == 404  # no part in the child's case
    assert api.post(path, headers=as_guardian(rt, GUARDIAN_1_PNR)).status_code == 403
    assert api.post(path, headers=as_staff(rt, "admin.ystad")).status_code == 200


# -- the settings ------------------------------------------------------------------------------------------


def test_the_register_file_setting_decides_whose_custody_is_confirmed(tmp_path: Path, clock: SettableClock) -> None:
    knows_anna = write_register(tmp_path / "anna.json", {CHILD_PNR: {GUARDIAN_1_PNR}})
    knows_nobody = write_register(tmp_path / "nobody.json", {})
    seen = {}
    for name, path in (("anna", knows_anna), ("nobody", knows_nobody)):
        settings = Settings(store="memory", demo_mode=True, population_register_file=path)
        with_register = bootstrap(settings, clock=clock, directory=directory())
        try:
            with_register.hub.register_child(
                staff(TEACHER), personnummer=CHILD_PNR, given_name="Alva", family_name="Lind",
                guardians=[{"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True}],
            )
            seen[name] = with_register.hub.family_children(family(with_register, GUARDIAN_1_PNR)) != []
        finally:
            with_register.close()
    assert seen == {"anna": True, "nobody": False}


class SlowRegister:
    def custodians(self, child: str) -> Collection[str]:
        import time

        time.sleep(0.5)
        return {GUARDIAN_1_PNR}


@pytest.mark.parametrize(("timeout", "answer"), [(0.1, RegisterAnswer.REGISTER_UNAVAILABLE), (5.0, RegisterAnswer.CONFIRMED)])
def test_the_register_timeout_setting_decides_how_long_registration_waits_for_the_register(
    clock: SettableClock, timeout: float, answer: RegisterAnswer
) -> None:
    settings = Settings(store="memory", demo_mode=True, population_register_timeout=timeout)
    runtime = bootstrap(settings, clock=clock, directory=directory(), register=SlowRegister())
    try:
        child = runtime.hub.register_child(
            staff(TEACHER), personnummer=CHILD_PNR, given_name="Alva", family_name="Lind",
            guardians=[{"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True}],
        )
        assert answers(runtime, UUID(str(child))) == [answer]
    finally:
        runtime.close()


def test_without_a_register_no_guardian_is_ever_confirmed(clock: SettableClock) -> None:
    runtime = bootstrap(Settings(store="memory", demo_mode=True), clock=clock, directory=directory(), register=NoRegister())
    try:
        child = UUID(str(runtime.hub.register_child(
            staff(TEACHER), personnummer=CHILD_PNR, given_name="Alva", family_name="Lind",
            guardians=[{"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True}],
        )))
        assert answers(runtime, child) == [RegisterAnswer.REGISTER_UNAVAILABLE]
        assert runtime.hub.family_children(family(runtime, GUARDIAN_1_PNR)) == []
        with pytest.raises(ChildNotFoundError):
            runtime.hub.read_child(family(runtime, GUARDIAN_1_PNR), child, purpose="family view", view="family_view")
        with pytest.raises(RegisterUnavailableError):
            runtime.hub.check_guardians(staff("admin.ystad"), child)
    finally:
        runtime.close()


@pytest.mark.parametrize("content", ["{", json.dumps({"format": "backa-population-register", "version": 1, "children": [{"personnummer": CHILD_PNR, "custodians": [CHILD_PNR]}]})])
def test_the_hub_refuses_to_start_on_a_bad_register_file(tmp_path: Path, clock: SettableClock, content: str) -> None:
    path = tmp_path / "population.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RegisterFileError):
        bootstrap(Settings(store="memory", population_register_file=path), clock=clock, directory=directory())
    with pytest.raises(RegisterFileError):
        bootstrap(Settings(store="memory", population_register_file=tmp_path / "missing.json"), clock=clock, directory=directory())


# -- backa guardians check -------------------------------------------------------------------------------


def test_backa_guardians_check_confirms_what_the_register_could_not_answer_at_registration(
    tmp_path: Path, register_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hub on SQLite in demo mode, its register named by BACKA_POPULATION_REGISTER_FILE and
    away at registration; on the system clock, since the CLI checks tokens against the time now."""
    for name in ("BACKA_DATABASE_URL", "BACKA_STORE", "BACKA_KEK", "BACKA_KEK_FILE", "BACKA_TOKEN", "BACKA_ENCRYPT_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BACKA_DEMO_MODE", "true")
    monkeypatch.setenv("BACKA_POPULATION_REGISTER_FILE", str(register_file))
    data = tmp_path / "data"
    data.mkdir()
    directory().save(data / "directory.json")
    rt = bootstrap(Settings.from_env(data_dir=data), clock=system_clock)
    away = register_file.with_name("away.json")
    try:
        register_file.rename(away)
        child = UUID(str(rt.hub.register_child(
            staff(TEACHER), personnummer=CHILD_PNR, given_name="Alva", family_name="Lind",
            guardians=[{"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True}],
        )))
        unit, roles = STAFF[BK]
        assert rt.demo_issuer is not None
        token = rt.demo_issuer.staff_token(TENANT, BK, unit, sorted(r.value for r in roles))
    finally:
        rt.close()
    capsys.readouterr()

    assert main(["guardians", "check", str(child), "--data-dir", str(data)]) == 2  # no token
    assert "BACKA_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("BACKA_TOKEN", token)
    away.write_text("{", encoding="utf-8")
    away.rename(register_file)  # back, but broken: the hub does not start on it
    assert main(["guardians", "check", str(child), "--data-dir", str(data)]) == 2
    refused = capsys.readouterr().err
    assert "population register" in refused and CHILD_PNR not in refused
    write_register(register_file, {CHILD_PNR: {GUARDIAN_1_PNR}})
    assert main(["guardians", "check", str(child), "--data-dir", str(data)]) == 0
    said = capsys.readouterr().err
    assert "confirmed" in said and GUARDIAN_1_PNR not in said

    after = bootstrap(Settings.from_env(data_dir=data), clock=system_clock)
    try:
        assert [c.child_id for c in after.hub.family_children(family(after, GUARDIAN_1_PNR))] == [child]
    finally:
        after.close()
