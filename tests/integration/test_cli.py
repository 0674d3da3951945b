"""The ``backa`` command: schemas, demo tokens, the demo folder's safety, and a server that answers."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import httpx
import jsonschema
import pytest

from consent import ViewerKind
from contracts.events import EVENT_TYPES
from contracts.vocabulary import Role
from hub import demo
from hub.cli import main
from hub.errors import NotAuthenticatedError
from hub.runtime.bootstrap import bootstrap
from hub.runtime.settings import Settings

BACKA = Path(sys.executable).parent / "backa"
START_TIMEOUT = 30.0


def outside(folder: Path) -> dict[str, Path]:
    """Outside demo mode, the checkpoint key and the witness live outside the data folder."""
    (folder / "witness").mkdir(exist_ok=True)
    return {"checkpoint_key_file": folder / "keys" / "transparency.key", "witness_dir": folder / "witness"}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("cli") / "data"
    demo.build_demo_data(Settings(data_dir=data_dir), children=4)
    return data_dir


def test_schemas_export_writes_a_valid_schema_for_every_event(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "schemas"
    assert main(["schemas", "export", "--out", str(out)]) == 0
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert {e["type_name"] for e in index["events"]} == set(EVENT_TYPES)
    for entry in index["events"]:
        jsonschema.Draft202012Validator.check_schema(json.loads((out / entry["file"]).read_text(encoding="utf-8")))
    jsonschema.Draft202012Validator.check_schema(json.loads((out / "vocabulary.schema.json").read_text(encoding="utf-8")))
    assert str(out.resolve()) in capsys.readouterr().err


def test_token_is_refused_for_a_folder_without_demo_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "karin.holm", "--data-dir", str(tmp_path / "empty")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "demo" in captured.err

    plain = tmp_path / "plain"
    bootstrap(Settings(data_dir=plain, kek=secrets.token_hex(32), **outside(tmp_path))).close()  # a hub that is not a demo
    assert main(["token", "karin.holm", "--data-dir", str(plain)]) == 2
    assert capsys.readouterr().out == ""
    assert not (plain / "demo").exists(), "no issuer key is made for a folder that is not a demo"


def test_token_is_refused_for_a_user_the_demo_does_not_have(demo_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "197001019806", "--data-dir", str(demo_dir)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "197001019806" not in captured.err


def test_a_staff_token_verifies_only_with_the_demo_hub_running_in_demo_mode(demo_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "henrik.olsson", "--data-dir", str(demo_dir)]) == 0
    token = capsys.readouterr().out.strip()
    served = bootstrap(Settings(data_dir=demo_dir, demo_mode=True))
    try:
        p = served.verifier.verify(token)
        assert (p.kind, p.tenant_id, p.user_id, p.unit_id) == (ViewerKind.STAFF, "ystad", "henrik.olsson", "skola-norreport")
        assert Role.BARNKONTAKT in p.roles
        assert served.hub.case_list(p), "the Barnkontakt's token opens their case list"
    finally:
        served.close()
    not_demo = bootstrap(Settings(data_dir=demo_dir, demo_mode=False, kek_file=demo_dir / "kek.key", **outside(demo_dir.parent)))
    try:
        with pytest.raises(NotAuthenticatedError):
            not_demo.verifier.verify(token)
    finally:
        not_demo.close()


def test_a_guardian_token_signs_in_the_guardian_of_the_listed_child(demo_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    users = demo.demo_users(demo_dir)
    assert main(["token", "vardnadshavare-1", "--data-dir", str(demo_dir)]) == 0
    token = capsys.readouterr().out.strip()
    served = bootstrap(Settings(data_dir=demo_dir, demo_mode=True))
    try:
        p = served.verifier.verify(token)
        assert p.kind is ViewerKind.GUARDIAN
        listed = {UUID(c["child_id"]) for c in users["vardnadshavare-1"]["children"]}
        assert listed <= {c.child_id for c in served.hub.family_children(p)}
    finally:
        served.close()


def test_demo_leaves_a_folder_holding_another_hub_untouched(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    rt = bootstrap(Settings(data_dir=plain, kek=secrets.token_hex(32), **outside(tmp_path)))
    rt.close()
    before = sorted((p.name, p.stat().st_size) for p in plain.iterdir())
    for args in (["demo", "--load-only"], ["demo", "--load-only", "--reset"]):
        assert main([*args, "--children", "2", "--data-dir", str(plain)]) == 2
    assert sorted((p.name, p.stat().st_size) for p in plain.iterdir()) == before
    assert not demo.is_demo_folder(plain)


def test_demo_loads_an_empty_folder_once_and_again_only_on_reset(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert main(["demo", "--load-only", "--children", "2", "--data-dir", str(data_dir)]) == 0
    first = demo.demo_users(data_dir)
    assert main(["demo", "--load-only", "--children", "3", "--data-dir", str(data_dir)]) == 0
    assert demo.demo_state(data_dir)["children"] == 2, "a loaded demo is served as it is"
    assert main(["demo", "--load-only", "--reset", "--children", "3", "--seed", "5", "--data-dir", str(data_dir)]) == 0
    assert demo.demo_state(data_dir)["children"] == 3
    assert demo.demo_users(data_dir)["vardnadshavare-1"] != first["vardnadshavare-1"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_starts_on_a_free_port_and_answers_health(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKA_")}
    env["BACKA_KEK"] = secrets.token_hex(32)  # outside demo mode the hub needs a key-encryption key
    env["BACKA_CHECKPOINT_KEY_FILE"] = str(tmp_path / "keys" / "transparency.key")  # and its checkpoint key elsewhere
    (tmp_path / "witness").mkdir()
    env["BACKA_WITNESS_DIR"] = str(tmp_path / "witness")  # and a witness
    server = subprocess.Popen(  # noqa: S603 - our own console script
        [str(BACKA), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        answer = None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and server.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2.0)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None, "the server did not answer in time"
        assert answer.status_code == 200
        assert answer.json()["status"] in {"starting", "ok"}  # alive, the hub perhaps still being built
        while time.monotonic() < deadline and httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2.0).status_code != 200:
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=2.0).json() == {"status": "ok"}
        assert (tmp_path / "data" / "events.sqlite").exists(), "the hub keeps its store in ./data by default"
        unauthenticated = httpx.get(f"http://127.0.0.1:{port}/api/v1/case-list", timeout=2.0)
        assert unauthenticated.status_code == 401
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
        if server.stdout is not None:
            server.stdout.close()
