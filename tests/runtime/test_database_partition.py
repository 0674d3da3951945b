"""A silent partition between the hub and PostgreSQL: the database neither answers nor
closes anything. Every request is answered 503 within its deadlines instead of hanging,
and when the partition heals the same hub serves again without a restart."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from litestar.testing import TestClient

from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import POSTGRES_URL, postgres_url
from tests.factories import CHILD_PNR, card_payload, directory
from tests.integration.test_store_outage import API, as_staff, assert_store_unavailable, register

DEADLINES = "statement_timeout=1&pool_timeout=1&connect_timeout=1"
"""Short deadlines, so the test is quick; the defaults are tested in tests/runtime/test_database_deadlines.py."""
HANG = 60.0
"""Far past every deadline: an answer that has not come by then never comes."""


class SilentProxy:
    """127.0.0.1:<free port> -> the database. ``partition()`` makes it swallow every byte in
    both directions while every connection stays open, as a cable cut behind a switch or a
    frozen host would; ``heal()`` forwards again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.partitioned = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if not self.partitioned.is_set():
                    sink.sendall(data)
        except OSError:
            pass
        finally:  # one side ended on its own: end the other
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def partition(self) -> None:
        self.partitioned.set()

    def heal(self) -> None:
        self.partitioned.clear()

    def close(self) -> None:
        """End every connection (a shutdown, which wakes a thread blocked on the socket)."""
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


@pytest.fixture
def proxy() -> Iterator[SilentProxy]:
    target = urlsplit(POSTGRES_URL)
    p = SilentProxy((target.hostname or "127.0.0.1", target.port or 5432))
    yield p
    p.close()


@pytest.fixture
def rt(pg_schema: str, proxy: SilentProxy, clock: SettableClock, tmp_path: Path) -> Iterator[Runtime]:
    url = postgres_url(pg_schema, host="127.0.0.1", port=proxy.port).replace("connect_timeout=2", DEADLINES)
    runtime = bootstrap(Settings(database_url=url, data_dir=tmp_path / "data", demo_mode=True), clock=clock, directory=directory())
    yield runtime
    runtime.close()


def answered_within(seconds: float, request: Callable[[], Any], on_hang: Callable[[], None]) -> Any:
    """The request's answer, or a failure if it has none after ``seconds`` (``on_hang`` is
    called first, to set free what hangs so the test can end)."""
    answer: list[Any] = []
    done = threading.Event()

    def run() -> None:
        try:
            answer.append(request())
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()
    if not done.wait(seconds):
        on_hang()
    assert done.is_set(), f"no answer after {seconds:.0f} s: the request hangs while the database is partitioned"
    assert answer, "the request failed without an answer"
    return answer[0]


def test_a_silent_partition_is_answered_503_and_the_hub_serves_again_when_it_heals(rt: Runtime, proxy: SilentProxy) -> None:
    with TestClient(create_app(rt)) as client:
        child = register(client, rt, CHILD_PNR)
        police, bk = as_staff(rt, "polis.ystad"), as_staff(rt, "rektor.ostra")

        def send_card() -> Any:
            return client.post(f"{API}/children/{child}/discovery-cards", json=card_payload(), headers=police)

        assert send_card().status_code == 201

        proxy.partition()
        for request in (
            send_card,  # a command: the key store and the log
            lambda: client.get(f"{API}/children/{child}", headers=bk),  # an audited read of the log
            lambda: client.get(f"{API}/case-list", headers=bk),  # a read of a view
        ):
            assert_store_unavailable(answered_within(HANG, request, proxy.close))

        proxy.heal()
        end = time.monotonic() + HANG
        while (answer := answered_within(HANG, send_card, proxy.close)).status_code != 201:
            assert_store_unavailable(answer)
            assert time.monotonic() < end, "the hub did not serve again after the partition healed"
            time.sleep(0.2)
        case_list = client.get(f"{API}/case-list", headers=bk)
        assert case_list.status_code == 200, case_list.text
