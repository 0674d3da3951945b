"""A SQLite store is served by one process: a second server on the same data folder, however
it was started, is refused at once instead of keeping a log of its own beside the first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hub.cli import main
from hub.http.asgi import WorkersNeedPostgresError, app_from_env
from hub.runtime.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _shut_down(app: object) -> None:
    for hook in app.on_shutdown:  # type: ignore[attr-defined]
        hook()


def test_a_second_application_on_the_same_sqlite_folder_is_refused_until_the_first_shuts_down(tmp_path: Path) -> None:
    settings = Settings(store="sqlite", demo_mode=True, data_dir=tmp_path / "data")
    first = app_from_env(settings)
    try:
        with pytest.raises(WorkersNeedPostgresError, match="already serves this data folder"):
            app_from_env(settings)
    finally:
        _shut_down(first)
    again = app_from_env(settings)  # the first let the folder go when it shut down
    _shut_down(again)


def test_applications_on_different_folders_are_served_side_by_side(tmp_path: Path) -> None:
    one = app_from_env(Settings(store="sqlite", demo_mode=True, data_dir=tmp_path / "one"))
    try:
        other = app_from_env(Settings(store="sqlite", demo_mode=True, data_dir=tmp_path / "other"))
        _shut_down(other)
    finally:
        _shut_down(one)


def _serve(tmp_path: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BACKA_DEMO_MODE": "true", "BACKA_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    env.pop("BACKA_DATABASE_URL", None)
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "serve", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True,
        )


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def test_a_second_backa_serve_on_the_same_folder_exits_refused_and_the_first_serves_on(tmp_path: Path) -> None:
    first_port, second_port = _free_port(), _free_port()
    first = _serve(tmp_path, first_port, tmp_path / "first.log")
    second = None
    try:
        deadline = time.monotonic() + 90
        ready = 0
        while time.monotonic() < deadline and first.poll() is None and ready != 200:
            try:
                ready = httpx.get(f"http://127.0.0.1:{first_port}/ready", timeout=5).status_code
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert ready == 200, (tmp_path / "first.log").read_text()
        second = _serve(tmp_path, second_port, tmp_path / "second.log")
        assert second.wait(timeout=90) == 2
        said = (tmp_path / "second.log").read_text()
        assert "another process already serves this data folder" in said and "Traceback" not in said
        assert httpx.get(f"http://127.0.0.1:{first_port}/ready", timeout=5).status_code == 200
    finally:
        _stop(first)
        if second is not None:
            _stop(second)


@pytest.mark.parametrize("written", ["0", "65", "-1", "two", "1.5", "٢"])
def test_a_worker_count_out_of_bounds_is_refused_naming_the_flag(
    written: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["serve", "--workers", written, "--data-dir", str(tmp_path / "data")])
    assert refused.value.code == 2
    said = capsys.readouterr().err
    assert "--workers" in said and "BACKA_WORKERS" not in said
    assert not (tmp_path / "data").exists()
