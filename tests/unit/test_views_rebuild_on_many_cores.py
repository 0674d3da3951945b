"""``backa views rebuild`` without ``--processes`` runs on a machine with more cores than
its ceiling: the default is the cores, at most the ceiling, rather than a refusal of a
flag the operator never gave."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.cli import main
from hub.cli.views import MAX_PROCESSES


def test_the_default_number_of_processes_stays_within_the_ceiling_on_a_machine_of_many_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: MAX_PROCESSES * 2)
    monkeypatch.delenv("BACKA_KEK_FILE", raising=False)
    monkeypatch.delenv("BACKA_KEK", raising=False)
    main(["views", "rebuild", "--data-dir", str(tmp_path / "data")])
    said = capsys.readouterr().err
    assert "--processes must be" not in said
    assert "key-encryption key" in said  # it went on to the hub's own settings, which this folder lacks


def test_an_explicit_number_past_the_ceiling_is_still_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["views", "rebuild", "--data-dir", str(tmp_path / "data"), "--processes", str(MAX_PROCESSES + 1)]) == 2
    assert f"--processes must be from 1 to {MAX_PROCESSES}" in capsys.readouterr().err
