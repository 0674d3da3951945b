"""``backa import cards FILE``: the administrator imports an e-service export from the command
line, sees the report row by row, and a second run or a dry run files nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.cli import main
from hub.runtime.bootstrap import bootstrap
from hub.runtime.clock import system_clock
from hub.runtime.settings import Settings
from tests.factories import CHILD_PNR, STAFF, TENANT, directory, staff
from tests.integration.test_card_import import as_csv, as_json, row


@pytest.fixture
def hub_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """An empty demo-mode hub on SQLite, and the administrator's token."""
    for name in ("BACKA_DATABASE_URL", "BACKA_STORE", "BACKA_KEK", "BACKA_KEK_FILE", "BACKA_TOKEN", "BACKA_ENCRYPT_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BACKA_DEMO_MODE", "true")
    monkeypatch.delenv("BACKA_POPULATION_REGISTER_FILE", raising=False)
    data = tmp_path / "data"
    data.mkdir()
    directory().save(data / "directory.json")
    rt = bootstrap(Settings.from_env(data_dir=data), clock=system_clock)
    try:
        assert rt.demo_issuer is not None
        token = rt.demo_issuer.staff_token(TENANT, "admin.ystad", None, sorted(r.value for r in STAFF["admin.ystad"][1]))
    finally:
        rt.close()
    return data, token


def cards_sent(data: Path) -> int:
    rt = bootstrap(Settings.from_env(data_dir=data), clock=system_clock)
    try:
        return len(rt.hub.cards_sent_by(staff("larare.ostra")))
    finally:
        rt.close()


def test_the_command_imports_once_reports_each_row_and_says_no_personal_data(
    hub_folder: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, token = hub_folder
    monkeypatch.setenv("BACKA_TOKEN", token)
    export = tmp_path / "kort.csv"
    export.write_bytes(as_csv([row("e-1"), row("e-2", guardians_informed="yes")]))
    capsys.readouterr()

    assert main(["import", "cards", str(export), "--dry-run", "--data-dir", str(data)]) == 1
    dry = json.loads(capsys.readouterr().out)
    assert dry["dry_run"] is True and [r["eservice_id"] for r in dry["accepted"]] == ["e-1"]
    assert cards_sent(data) == 0

    assert main(["import", "cards", str(export), "--data-dir", str(data)]) == 1
    said = capsys.readouterr()
    report = json.loads(said.out)
    assert [r["eservice_id"] for r in report["accepted"]] == ["e-1"]
    assert [(r["row"], [e["field"] for e in r["errors"]]) for r in report["rejected"]] == [(2, ["guardians_informed"])]
    assert CHILD_PNR not in said.out + said.err and "Alva" not in said.out + said.err
    assert cards_sent(data) == 1

    assert main(["import", "cards", str(export), "--output", "table", "--data-dir", str(data)]) == 1
    table = capsys.readouterr().out.splitlines()
    assert table[1].split()[:3] == ["1", "skipped", "e-1"]
    assert table[2].split()[:3] == ["2", "rejected", "e-2"]
    assert cards_sent(data) == 1


def test_an_unreadable_file_is_refused_whole(
    hub_folder: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, token = hub_folder
    monkeypatch.setenv("BACKA_TOKEN", token)
    export = tmp_path / "kort.json"
    export.write_bytes(as_json([row("e-1")])[:-3])
    assert main(["import", "cards", str(export), "--data-dir", str(data)]) == 2
    assert "not JSON" in capsys.readouterr().err
    assert cards_sent(data) == 0
