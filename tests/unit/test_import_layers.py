"""The layers point one way, and importing the code does nothing by itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contracts", "consent", "projections", "hub", "adapters")


def _contracts() -> list[dict[str, Any]]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["tool"]["importlinter"]["contracts"]


def test_the_import_contracts_cover_every_layer_and_keep_consent_free_of_io() -> None:
    contracts = _contracts()
    layers = next(c for c in contracts if c["type"] == "layers")
    assert layers["layers"] == ["hub", "adapters", "projections", "consent", "contracts"]
    forbidden = {c["source_modules"][0]: set(c["forbidden_modules"]) for c in contracts if c["type"] == "forbidden"}
    assert {"consent", "projections", "hub", "adapters"} <= forbidden["contracts"]
    assert {"projections", "hub", "adapters", "eventsourcing", "sqlite3"} <= forbidden["consent"]


def test_the_code_keeps_every_import_contract() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert f"Contracts: {len(_contracts())} kept, 0 broken." in report


IMPORT_EVERYTHING = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys, threading
    names = []
    for package in sys.argv[1:]:
        module = importlib.import_module(package)
        names.append(package)
        for info in pkgutil.walk_packages(module.__path__, package + "."):
            if info.name.endswith(".__main__"):
                continue  # runs the program on purpose: it is what ``python -m`` starts
            importlib.import_module(info.name)
            names.append(info.name)
    print(json.dumps({"modules": names, "threads": threading.active_count()}))
    """
)


def test_importing_every_module_does_no_work(tmp_path: Path) -> None:
    cwd = tmp_path / "cwd"
    data = tmp_path / "data"
    home = tmp_path / "home"
    for folder in (cwd, data, home):
        folder.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(home),
        "BACKA_DATA_DIR": str(data),
        "BACKA_STORE": "sqlite",
        "BACKA_DEMO_MODE": "true",
    }
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING, *PACKAGES],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"contracts.events", "consent.policy", "projections.record", "hub.application", "hub.runtime.bootstrap"} <= set(report["modules"])
    assert report["threads"] == 1, "a module started a thread when imported"
    for folder in (cwd, data, home):
        assert sorted(p.name for p in folder.rglob("*")) == [], f"importing wrote into {folder.name}"
