"""``backa consents remind``: the administrator's sweep sends the reminders due at the moment
it is given, once; the area's waiting days (BACKA_CONSENT_REMINDER_AFTER_DAYS) decide when
one is due; and what it says names no child or person."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from hub.cli import main
from hub.runtime.bootstrap import bootstrap
from hub.runtime.clock import system_clock
from hub.runtime.settings import Settings
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, STAFF, TENANT, conversation_payload, directory, staff

BK = "rektor.ostra"


@pytest.fixture
def hub_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
    """A demo-mode hub on SQLite with one pending request; the administrator's token, and when it was asked."""
    for name in ("BACKA_DATABASE_URL", "BACKA_STORE", "BACKA_KEK", "BACKA_KEK_FILE", "BACKA_TOKEN", "BACKA_ENCRYPT_LOG",
                 "BACKA_CONSENT_REMINDER_AFTER_DAYS", "BACKA_CONSENT_EXPIRY_WARNING_DAYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BACKA_DEMO_MODE", "true")
    monkeypatch.delenv("BACKA_POPULATION_REGISTER_FILE", raising=False)  # the tests' register confirms every guardian named
    data = tmp_path / "data"
    data.mkdir()
    directory().save(data / "directory.json")
    rt = bootstrap(Settings.from_env(data_dir=data), clock=system_clock)
    try:
        child = UUID(str(rt.hub.register_child(
            staff(BK), personnummer=CHILD_PNR, given_name="Alva", family_name="Lind",
            guardians=[{"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True}],
        )))
        rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
        rt.hub.hold_conversation(staff(BK), child, **conversation_payload())
        rt.hub.request_consent(staff(BK), child, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose="Stöd")
        asked = rt.hub.now()
        assert rt.demo_issuer is not None
        token = rt.demo_issuer.staff_token(TENANT, "admin.ystad", None, sorted(r.value for r in STAFF["admin.ystad"][1]))
    finally:
        rt.close()
    return data, token, asked.isoformat()


def at(asked: str, days: int) -> str:
    from datetime import datetime

    return (datetime.fromisoformat(asked) + timedelta(days=days)).isoformat()


def test_the_sweep_sends_the_reminder_due_once_and_says_only_counts(
    hub_folder: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, token, asked = hub_folder
    capsys.readouterr()
    assert main(["consents", "remind", "--data-dir", str(data)]) == 2  # no token
    monkeypatch.setenv("BACKA_TOKEN", token)
    assert main(["consents", "remind", "--at", "tomorrow", "--data-dir", str(data)]) == 2
    capsys.readouterr()
    assert main(["consents", "remind", "--at", at(asked, 8), "--data-dir", str(data)]) == 0
    said = capsys.readouterr().err
    assert "1 reminder(s) sent for 1 child(ren)" in said and CHILD_PNR not in said and "Alva" not in said
    assert main(["consents", "remind", "--at", at(asked, 9), "--data-dir", str(data)]) == 0
    assert "0 reminder(s) sent for 0 child(ren)" in capsys.readouterr().err


def test_the_areas_waiting_days_decide_when_a_reminder_is_due(
    hub_folder: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, token, asked = hub_folder
    monkeypatch.setenv("BACKA_TOKEN", token)
    monkeypatch.setenv("BACKA_CONSENT_REMINDER_AFTER_DAYS", "10")
    capsys.readouterr()
    assert main(["consents", "remind", "--at", at(asked, 8), "--dry-run", "--data-dir", str(data)]) == 0
    assert "0 child(ren) have reminders due" in capsys.readouterr().err
    monkeypatch.setenv("BACKA_CONSENT_REMINDER_AFTER_DAYS", "5")
    assert main(["consents", "remind", "--at", at(asked, 8), "--dry-run", "--data-dir", str(data)]) == 0
    assert "1 child(ren) have reminders due" in capsys.readouterr().err


def test_a_staff_token_sends_nothing(hub_folder: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data, admin_token, asked = hub_folder
    rt = bootstrap(Settings.from_env(data_dir=data), clock=system_clock)
    try:
        assert rt.demo_issuer is not None
        unit, roles = STAFF[BK]
        monkeypatch.setenv("BACKA_TOKEN", rt.demo_issuer.staff_token(TENANT, BK, unit, sorted(r.value for r in roles)))
    finally:
        rt.close()
    capsys.readouterr()
    assert main(["consents", "remind", "--at", at(asked, 8), "--data-dir", str(data)]) == 2
    assert "refused" in capsys.readouterr().err
    monkeypatch.setenv("BACKA_TOKEN", admin_token)  # the staff run sent nothing: the reminder is still due
    assert main(["consents", "remind", "--at", at(asked, 8), "--data-dir", str(data)]) == 0
    assert "1 reminder(s) sent for 1 child(ren)" in capsys.readouterr().err
