"""``backa import directory FILE``: a directory.json's areas become the first facts of the
directory's log once; running it again, or with an edited file, changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hub.cli import main
from hub.identity.directory import Directory
from hub.runtime.bootstrap import live_directory
from hub.runtime.clock import system_clock
from hub.runtime.settings import Settings
from hub.runtime.stores import store_kit
from tests.factories import OTHER_TENANT, TENANT, directory


def on_log(data: Path) -> Directory:
    settings = Settings(store="sqlite", data_dir=data, demo_mode=True)
    kit = store_kit(settings)
    live = live_directory(settings, kit, Directory(), system_clock)
    try:
        return live.snapshot()
    finally:
        live.close()
        kit.close()


def test_an_import_brings_each_area_in_once_and_an_edited_file_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKA_STORE", "sqlite")
    data = tmp_path / "data"
    file = tmp_path / "directory.json"
    directory().save(file)

    assert main(["import", "directory", str(file), "--dry-run", "--data-dir", str(data)]) == 0
    assert f"{TENANT}: would be brought in" in capsys.readouterr().out
    assert on_log(data).tenants == {}

    assert main(["import", "directory", str(file), "--data-dir", str(data)]) == 0
    assert f"{TENANT}: brought in" in capsys.readouterr().out
    edited = json.loads(file.read_text())
    edited["tenants"][0]["units"][0]["name"] = "Ändrat namn"
    file.write_text(json.dumps(edited))
    assert main(["import", "directory", str(file), "--data-dir", str(data)]) == 0

    out = capsys.readouterr().out
    assert f"{TENANT}: already on the directory's log" in out and f"{OTHER_TENANT}: already" in out
    now = on_log(data)
    assert set(now.tenants[TENANT].units) == set(directory().tenants[TENANT].units)
    assert "Ändrat namn" not in {u.name for u in now.tenants[TENANT].units.values()}


def test_a_file_that_is_no_directory_is_refused_and_nothing_is_brought_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKA_STORE", "sqlite")
    data = tmp_path / "data"
    file = tmp_path / "directory.json"
    broken = directory().to_json()
    broken["tenants"][0]["staff"][0]["unit_id"] = "finns-inte"
    file.write_text(json.dumps(broken))

    assert main(["import", "directory", str(file), "--data-dir", str(data)]) == 2

    assert "refused" in capsys.readouterr().err
    assert on_log(data).tenants == {}


@pytest.mark.parametrize(
    ("where", "change", "said"),
    [
        ("units", lambda t: t["units"].append(dict(t["units"][0], name="Dubblett")), "units[8].unit_id: the id is given twice"),
        ("staff", lambda t: t["staff"].append(dict(t["staff"][0], name="Dubblett")), "staff[11].user_id: the id is given twice"),
    ],
    ids=["a unit", "a person"],
)
def test_an_id_given_twice_in_the_file_is_refused_not_silently_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, where: str, change: Any, said: str
) -> None:
    monkeypatch.setenv("BACKA_STORE", "sqlite")
    data, file = tmp_path / "data", tmp_path / "directory.json"
    twice = directory().to_json()
    change(twice["tenants"][0])
    file.write_text(json.dumps(twice))

    assert main(["import", "directory", str(file), "--data-dir", str(data)]) == 2

    assert said in capsys.readouterr().err
    assert on_log(data).tenants == {}


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda s: s.__setitem__("roles", ["guardian"]), "staff[0].roles"),
        (lambda s: s.__setitem__("name", "Rektor\nLidingö"), "staff[0].name: is not in the form"),
    ],
    ids=["a guardian among the staff", "a name over two lines"],
)
def test_an_entry_the_directory_cannot_hold_brings_in_no_area_at_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, change: Any, said: str
) -> None:
    monkeypatch.setenv("BACKA_STORE", "sqlite")
    data, file = tmp_path / "data", tmp_path / "directory.json"
    broken = directory().to_json()
    change(next(t for t in broken["tenants"] if t["tenant_id"] == OTHER_TENANT)["staff"][0])  # the other area is fine
    file.write_text(json.dumps(broken))

    assert main(["import", "directory", str(file), "--dry-run", "--data-dir", str(data)]) == 2
    assert main(["import", "directory", str(file), "--data-dir", str(data)]) == 2

    err = capsys.readouterr().err
    assert said in err and "Rektor" not in err and "Traceback" not in err
    assert on_log(data).tenants == {}
