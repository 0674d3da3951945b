"""After an upgrade, registrations stored before guardian links were checked against the
population register carry no answer, so their guardians have no access until each child is
checked. ``backa guardians check --all`` checks every such child of the caller's area, and a
staff member allowed to check a child can do it from the child's page.

The hub here runs on SQLite in demo mode with a register file (``BACKA_POPULATION_REGISTER_FILE``)
that is away while the children are registered, as it was for registrations before the upgrade."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest

from adapters.population_file import FileRegister, register_text
from contracts.events import ChildRegistered, GuardianLinkChecked
from contracts.vocabulary import RegisterAnswer
from hub.application.registration import Registration
from hub.cli import main
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import system_clock
from hub.runtime.settings import Settings
from tests.conftest import family
from tests.factories import OTHER_TENANT, STAFF, TENANT, directory, staff

TEACHER = "larare.ostra"
ADMIN = "admin.ystad"
CHILDREN = {"201601012006": "198001012007", "201602022004": "198002022005", "201603032002": "198003032003"}
"""Three children of Ystad, each with one guardian with sole custody."""
OTHER_AREA_CHILD, OTHER_AREA_GUARDIAN = "201604042000", "198004042001"
"""A child of Lidingö, another cooperation area."""
LEGACY = "201601012006"
"""The child registered before guardian links were checked: its registration carries no answer."""
DOWN_FOR = "201602022004"
"""The child the register cannot answer for in the first run."""
NAMES = ("Alva", "Lind", "Anna")


@dataclass
class Hub:
    data: Path
    register_file: Path
    ids: dict[str, UUID]
    other: UUID

    def open(self) -> Runtime:
        return bootstrap(Settings.from_env(data_dir=self.data), clock=system_clock)


def token(rt: Runtime, user_id: str) -> str:
    assert rt.demo_issuer is not None
    unit, roles = STAFF[user_id]
    return rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles))


def checks(rt: Runtime, child: UUID) -> list[RegisterAnswer]:
    return [
        f.answer
        for f in (rt.hub.mapper.to_domain_event(n).fact for n in rt.hub.recorder.select_notifications(1, 100_000))
        if isinstance(f, GuardianLinkChecked) and f.child_id == child
    ]


def registrations(rt: Runtime, child: UUID) -> list[ChildRegistered]:
    return [
        f
        for f in (rt.hub.mapper.to_domain_event(n).fact for n in rt.hub.recorder.select_notifications(1, 100_000))
        if isinstance(f, ChildRegistered) and f.child_id == child
    ]


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    for name in ("BACKA_DATABASE_URL", "BACKA_STORE", "BACKA_KEK", "BACKA_KEK_FILE", "BACKA_TOKEN", "BACKA_ENCRYPT_LOG"):
        monkeypatch.delenv(name, raising=False)
    register_file = tmp_path / "population.json"
    register_file.write_text(
        register_text({**{c: {g} for c, g in CHILDREN.items()}, OTHER_AREA_CHILD: {OTHER_AREA_GUARDIAN}}), encoding="utf-8"
    )
    monkeypatch.setenv("BACKA_DEMO_MODE", "true")
    monkeypatch.setenv("BACKA_POPULATION_REGISTER_FILE", str(register_file))
    data = tmp_path / "data"
    data.mkdir()
    directory().save(data / "directory.json")
    away = register_file.with_name("away.json")
    rt = bootstrap(Settings.from_env(data_dir=data), clock=system_clock)
    try:
        register_file.rename(away)  # the register cannot be reached
        guardian = [{"name": "Anna Lind", "personnummer": "", "has_custody": True}]
        ids = {}
        for c, g in CHILDREN.items():
            with monkeypatch.context() as before_links_were_checked:
                if c == LEGACY:  # recorded with no register answer at all
                    before_links_were_checked.setattr(Registration, "_ask_register", lambda *a, **k: {})
                ids[c] = UUID(str(rt.hub.register_child(
                    staff(TEACHER), personnummer=c, given_name="Alva", family_name="Lind",
                    guardians=[{**guardian[0], "personnummer": g}],
                )))
        assert [g.register_answer for f in registrations(rt, ids[LEGACY]) for g in f.guardians] == [None]
        other = UUID(str(rt.hub.register_child(
            staff("rektor.lidingo", OTHER_TENANT), personnummer=OTHER_AREA_CHILD, given_name="Alva", family_name="Lind",
            guardians=[{**guardian[0], "personnummer": OTHER_AREA_GUARDIAN}],
        )))
        for g in CHILDREN.values():
            assert rt.hub.family_children(family(rt, g)) == []
        monkeypatch.setenv("BACKA_TOKEN", token(rt, ADMIN))
    finally:
        rt.close()
        away.rename(register_file)
    yield Hub(data, register_file, ids, other)


def said(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    out = capsys.readouterr()
    text = out.out + out.err + caplog.text
    for number in [*CHILDREN, *CHILDREN.values(), OTHER_AREA_CHILD, OTHER_AREA_GUARDIAN]:
        assert number not in text
    for name in NAMES:
        assert name not in text
    return out.err


def test_check_all_confirms_every_unconfirmed_child_of_the_area_and_none_of_another(
    hub: Hub, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert main(["guardians", "check", "--all", "--data-dir", str(hub.data)]) == 0
    err = said(capsys, caplog)
    assert "3 child(ren) checked: 3 confirmed" in err

    rt = hub.open()
    try:
        for c, g in CHILDREN.items():
            assert [x.child_id for x in rt.hub.family_children(family(rt, g))] == [hub.ids[c]]
            assert checks(rt, hub.ids[c]) == [RegisterAnswer.CONFIRMED]
        assert checks(rt, hub.other) == []  # Lidingö's child is not Ystad's administrator's to check
    finally:
        rt.close()

    assert main(["guardians", "check", "--all", "--dry-run", "--data-dir", str(hub.data)]) == 0
    assert "0 child(ren) would be checked" in said(capsys, caplog)  # nothing left to check


def test_check_all_goes_on_past_a_child_the_register_cannot_answer_for_and_a_second_run_finishes(
    hub: Hub, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    answered = FileRegister.custodians

    def down_for_one(self: FileRegister, child: str) -> object:
        if child == DOWN_FOR:
            raise OSError("connection reset")
        return answered(self, child)

    monkeypatch.setattr(FileRegister, "custodians", down_for_one)
    assert main(["guardians", "check", "--all", "--data-dir", str(hub.data)]) == 1
    err = said(capsys, caplog)
    assert "3 child(ren) checked: 2 confirmed, 0 not confirmed by the register, 1 the register could not answer for, 0 refused" in err

    rt = hub.open()
    try:
        assert rt.hub.family_children(family(rt, CHILDREN[DOWN_FOR])) == []
        assert checks(rt, hub.ids[DOWN_FOR]) == []
        for c in set(CHILDREN) - {DOWN_FOR}:
            assert checks(rt, hub.ids[c]) == [RegisterAnswer.CONFIRMED]
    finally:
        rt.close()

    monkeypatch.setattr(FileRegister, "custodians", answered)  # the register answers again
    assert main(["guardians", "check", "--all", "--data-dir", str(hub.data)]) == 0
    assert "1 child(ren) checked: 1 confirmed" in said(capsys, caplog)  # only the one left
    rt = hub.open()
    try:
        assert [x.child_id for x in rt.hub.family_children(family(rt, CHILDREN[DOWN_FOR]))] == [hub.ids[DOWN_FOR]]
    finally:
        rt.close()


def test_a_dry_run_counts_the_children_to_check_and_records_nothing(
    hub: Hub, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    rt = hub.open()
    before = rt.hub.log_length()
    rt.close()

    assert main(["guardians", "check", "--all", "--dry-run", "--data-dir", str(hub.data)]) == 0
    assert re.search(r"\b3 child\(ren\) would be checked", said(capsys, caplog))

    rt = hub.open()
    try:
        assert rt.hub.log_length() == before
        assert all(rt.hub.family_children(family(rt, g)) == [] for g in CHILDREN.values())
    finally:
        rt.close()


def test_check_all_as_a_teacher_checks_only_the_children_the_policy_lets_the_teacher_check(
    hub: Hub, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = hub.open()
    try:
        monkeypatch.setenv("BACKA_TOKEN", token(rt, "bup.ystad"))  # no part in these children's cases
    finally:
        rt.close()
    assert main(["guardians", "check", "--all", "--data-dir", str(hub.data)]) == 0
    assert "0 child(ren) checked" in said(capsys, caplog)


def test_check_wants_one_child_or_all(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["guardians", "check", "--data-dir", str(hub.data)]) == 2
    assert main(["guardians", "check", str(hub.other), "--all", "--data-dir", str(hub.data)]) == 2
    assert main(["guardians", "check", str(hub.other), "--dry-run", "--data-dir", str(hub.data)]) == 2
