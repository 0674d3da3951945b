"""``backa views rebuild`` refuses absurd numbers of processes and page sizes before it
starts anything: thousands of processes would exhaust the machine and the database."""

from __future__ import annotations

from typing import Any

import pytest

import hub.runtime.rebuild
from hub.cli import main
from hub.cli.views import EXIT_REFUSED, MAX_PAGE, MAX_PROCESSES


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--processes", 0, f"--processes must be from 1 to {MAX_PROCESSES}"),
        ("--processes", -1, f"--processes must be from 1 to {MAX_PROCESSES}"),
        ("--processes", 10_000, f"--processes must be from 1 to {MAX_PROCESSES}"),
        ("--page", 0, f"--page must be from 1 to {MAX_PAGE}"),
        ("--page", -5, f"--page must be from 1 to {MAX_PAGE}"),
        ("--page", 100_000_000, f"--page must be from 1 to {MAX_PAGE}"),
    ],
)
def test_an_absurd_number_is_refused_naming_the_option_before_anything_starts(
    option: str, value: int, said: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    started: list[Any] = []
    monkeypatch.setattr(hub.runtime.rebuild, "rebuild", lambda *a, **k: started.append(k))
    assert main(["views", "rebuild", option, str(value), "--data-dir", str(tmp_path)]) == EXIT_REFUSED
    assert said in capsys.readouterr().err
    assert started == []
