"""PostgreSQL cut off under load: while it is away every request is answered 503 with a
problem that says so; when it returns the hub carries on by itself, and every command
it acknowledged is in the log."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import pytest
from litestar.testing import TestClient

from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import POSTGRES_URL, postgres_url
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, STAFF, TENANT, card_payload, directory

API = "/api/v1"
OTHER_CHILD_PNR = "201103202386"
RECOVERY_DEADLINE = 60.0


class TcpProxy:
    """127.0.0.1:<free port> -> the database, with a switch that drops every connection
    and refuses new ones, and one that lets them in again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.port = 0
        self._listen()

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: the proxy is cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._sockets |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(source, sink)

    def _drop(self, *sockets: socket.socket) -> None:
        with self._lock:
            for s in sockets:
                self._sockets.discard(s)
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            open_sockets = list(self._sockets)
        if listener is not None:
            listener.close()
        self._drop(*open_sockets)

    def restore(self) -> None:
        """Accept connections again, on the same port."""
        with self._lock:
            if self._listener is not None:
                return
        self._listen()

    def close(self) -> None:
        self.cut()


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    target = urlsplit(POSTGRES_URL)
    p = TcpProxy((target.hostname or "127.0.0.1", target.port or 5432))
    yield p
    p.close()


@pytest.fixture
def rt(pg_schema: str, proxy: TcpProxy, clock: SettableClock, tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(
        database_url=postgres_url(pg_schema, host="127.0.0.1", port=proxy.port).replace("connect_timeout=2", "connect_timeout=1"),
        data_dir=tmp_path / "data",
        demo_mode=True,
    )
    runtime = bootstrap(settings, clock=clock, directory=directory())
    yield runtime
    runtime.close()


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(rt)) as c:
        yield c


def as_staff(rt: Runtime, user_id: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    unit, roles = STAFF[user_id]
    return {"Authorization": f"Bearer {rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles))}"}


def register(client: TestClient[Any], rt: Runtime, pnr: str) -> UUID:
    response = client.post(
        f"{API}/children",
        json={
            "personnummer": pnr, "given_name": "Alva", "family_name": "Lind",
            "guardians": [
                {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
                {"name": "Bo Lind", "personnummer": GUARDIAN_2_PNR, "has_custody": True},
            ],
        },
        headers=as_staff(rt, "larare.ostra"),
    )
    assert response.status_code == 201, response.text
    return UUID(response.json()["child_id"])


def assert_store_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"]
    problem = response.json()
    assert problem["type"] == "urn:backa:problem:store-unavailable"
    assert problem["status"] == 503
    assert "cannot be reached" in problem["detail"]
    for leak in ("psycopg", "Traceback", "OperationalError", "127.0.0.1", str(POSTGRES_URL)):
        assert leak not in response.text


class Load:
    """Discovery cards sent as fast as the hub answers, one sender per child; every
    answer is kept, so the test knows exactly which cards the hub acknowledged."""

    def __init__(self, client: TestClient[Any], rt: Runtime, children: list[UUID]) -> None:
        self.client = client
        self.headers = as_staff(rt, "polis.ystad")
        self.children = children
        self.acknowledged: dict[UUID, list[str]] = {c: [] for c in children}
        self.statuses: list[int] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._send, args=(c,), daemon=True) for c in children]

    def _send(self, child: UUID) -> None:
        while not self._stop.is_set():
            try:
                response = self.client.post(f"{API}/children/{child}/discovery-cards", json=card_payload(), headers=self.headers)
            except Exception as e:  # noqa: BLE001 - a failure of the client itself fails the test
                self.failures.append(type(e).__name__)
                return
            self.statuses.append(response.status_code)
            if response.status_code == 201 or response.status_code == 200:
                self.acknowledged[child].append(response.json()["card_id"])
            elif response.status_code == 503:
                assert_store_unavailable(response)
            else:
                self.failures.append(f"{response.status_code} {response.text}")

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def wait_for(self, condition: Any, what: str, deadline: float = RECOVERY_DEADLINE) -> None:
        end = time.monotonic() + deadline
        while not condition():
            assert not self.failures, self.failures
            assert time.monotonic() < end, f"gave up waiting for {what}"
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=RECOVERY_DEADLINE)


def cards_in_log(rt: Runtime) -> dict[UUID, list[str]]:
    """Each child's discovery cards, read from the log itself."""
    found: dict[UUID, list[str]] = {}
    for n in rt.hub.recorder.select_notifications(1, 1_000_000):
        if n.topic.endswith("DiscoveryCardSubmitted"):
            fact = rt.hub.mapper.to_domain_event(n).fact
            found.setdefault(fact.child_id, []).append(fact.card_id)
    return found


def test_requests_fail_with_503_while_the_database_is_cut_off_and_nothing_acknowledged_is_lost(
    rt: Runtime, client: TestClient[Any], proxy: TcpProxy, pg_schema: str, clock: SettableClock, tmp_path: Path
) -> None:
    children = [register(client, rt, CHILD_PNR), register(client, rt, OTHER_CHILD_PNR)]
    bk = as_staff(rt, "rektor.ostra")
    load = Load(client, rt, children)
    load.start()
    try:
        load.wait_for(lambda: all(len(v) >= 3 for v in load.acknowledged.values()), "cards before the outage")

        proxy.cut()
        acknowledged_at_cut = sum(len(v) for v in load.acknowledged.values())
        # Reads of the log and of the views (the case list) say the same meanwhile.
        with ThreadPoolExecutor(2) as pool:
            answers = list(
                pool.map(lambda path: client.get(path, headers=bk), [f"{API}/children/{children[0]}", f"{API}/case-list"])
            )
        for answer in answers:
            assert_store_unavailable(answer)
        # Liveness asks nothing of the store: the process is alive and says so.
        assert client.get("/health").status_code == 200
        load.wait_for(lambda: load.statuses.count(503) >= len(children), "commands refused during the outage")
        # At most the commands in flight as the cable was cut got through.
        assert sum(len(v) for v in load.acknowledged.values()) <= acknowledged_at_cut + len(children)

        proxy.restore()
        at_restore = {c: len(v) for c, v in load.acknowledged.items()}
        load.wait_for(
            lambda: all(len(load.acknowledged[c]) >= at_restore[c] + 3 for c in children), "cards after the database returned"
        )
    finally:
        load.stop()
    assert not load.failures, load.failures
    assert set(load.statuses) <= {201, 503}

    # The hub answers reads again by itself, views included.
    assert client.get("/health").status_code == 200
    case_list = client.get(f"{API}/case-list", headers=bk)
    assert case_list.status_code == 200, case_list.text

    # Every acknowledged card is in the log, read by a hub started fresh on the database itself.
    fresh = bootstrap(
        Settings(database_url=postgres_url(pg_schema), data_dir=tmp_path / "data", demo_mode=True),
        clock=clock,
        directory=directory(),
    )
    try:
        in_log = cards_in_log(fresh)
        for child in children:
            assert set(load.acknowledged[child]) <= set(in_log.get(child, []))
        # And the views, caught up, hold every card the log has.
        for child in children:
            assert len(fresh.hub.views.cases.document(child)["cards"]) == len(in_log[child])  # type: ignore[index]
    finally:
        fresh.close()
