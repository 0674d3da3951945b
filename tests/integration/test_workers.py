"""Several hub processes on one PostgreSQL schema and data folder, as ``backa serve --workers N``
runs them: what one process commits, another's next read honours and shows; checkpoints
signed by both stay one history; the command starts the worker processes it was asked for,
and refuses several workers on a store they cannot share."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from hub.cli import main
from hub.demo import make_personnummer
from hub.errors import NoBasisError
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from hub.tlog.store import read_verifier_key
from hub.tlog.verify import audit
from hub.tlog.witness import FileWitness
from tests.conftest import family, postgres_url
from tests.factories import (
    CHILD_PNR,
    GUARDIAN_1_PNR,
    GUARDIAN_2_PNR,
    card_payload,
    conversation_payload,
    directory,
    staff,
)

BK = "rektor.ostra"
REPO = Path(__file__).resolve().parents[2]
OTHER_CHILDREN = [make_personnummer(date(2014, 3, 10), 200 + 2 * n) for n in range(4)]


@pytest.fixture
def two(pg_schema: str, clock: SettableClock, tmp_path: Path) -> Iterator[tuple[Runtime, Runtime]]:
    """Two runtimes on one schema and one data folder. Their views poll the log only once a
    minute, so what one shows of the other's commits it must have fetched for the read."""
    settings = Settings(
        database_url=postgres_url(pg_schema), data_dir=tmp_path / "data", demo_mode=True, views_poll_seconds=60,
    )
    one = bootstrap(settings, clock=clock, directory=directory())
    other = bootstrap(settings, clock=clock, directory=directory())
    try:
        yield one, other
    finally:
        one.close()
        other.close()


def register(rt: Runtime, pnr: str = CHILD_PNR) -> UUID:
    return rt.hub.register_child(
        staff("larare.ostra"), personnummer=pnr, given_name="Alva", family_name="Lind",
        guardians=[
            {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
            {"name": "Bo Lind", "personnummer": GUARDIAN_2_PNR, "has_custody": True},
        ],
    )


def test_a_consent_withdrawn_through_one_process_is_honoured_at_once_by_a_read_through_the_other(
    two: tuple[Runtime, Runtime],
) -> None:
    a, b = two
    child = register(a)
    a.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    a.hub.hold_conversation(staff(BK), child, **conversation_payload())
    consent = a.hub.request_consent(
        staff(BK), child, recipients=[{"unit_id": "bup-ystad"}], categories=["conversations"], purpose="Samordning"
    )
    a.hub.grant_consent(family(a, GUARDIAN_1_PNR), child, consent)
    a.hub.grant_consent(family(a, GUARDIAN_2_PNR), child, consent)
    assert [i.type for i in b.hub.read_child(staff("bup.ystad"), child, purpose="Möte").items] == ["ConversationHeld"]

    a.hub.withdraw_consent(family(a, GUARDIAN_2_PNR), child, consent)

    with pytest.raises(NoBasisError):
        b.hub.read_child(staff("bup.ystad"), child, purpose="Möte")


def test_a_command_through_one_process_is_in_the_views_the_other_reads_next(two: tuple[Runtime, Runtime]) -> None:
    a, b = two
    b.hub.case_list(staff(BK))  # the other process has looked at its views before the command
    child = register(a)
    a.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload())
    a.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)

    rows = {row.child_id: row for row in b.hub.case_list(staff(BK))}

    assert child in rows
    assert rows[child].barnkontakt_staff_id == BK


def test_checkpoints_signed_by_two_processes_at_once_make_one_history_the_witness_keeps(
    two: tuple[Runtime, Runtime], tmp_path: Path
) -> None:
    a, b = two
    assert a.transparency is not None and b.transparency is not None
    children = [register(a, pnr) for pnr in OTHER_CHILDREN]
    failures: list[BaseException] = []

    def sign(rt: Runtime, child: UUID, rounds: int) -> None:
        try:
            for n in range(rounds):
                rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload())
                assert rt.transparency is not None
                rt.transparency.checkpoint_now()
                if n % 2:
                    rt.transparency.after_commit(1000)  # as the policy signs after many facts
        except BaseException as e:  # noqa: BLE001 - handed to the test's thread
            failures.append(e)

    threads = [threading.Thread(target=sign, args=(rt, child, 6)) for rt, child in zip((a, b, a, b), children, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures
    final = a.transparency.checkpoint_now()
    assert b.transparency.checkpoint_now().size == final.size == a.hub.log_length()

    data = tmp_path / "data"
    key = read_verifier_key(data)
    witness = FileWitness(data / "witness", create=False)
    held = witness.latest(key)
    assert held is not None and held.size == final.size
    report = audit(a.hub.recorder, data, key, witness=(data / "witness", witness.verifier()))
    assert report.ok, report.problems
    assert len(a.transparency.store._checkpoints) > 2  # noqa: SLF001 - both processes signed several


# -- backa serve --workers ---------------------------------------------------------------------


def _not_served(*args: object) -> None:
    raise AssertionError("the hub was served on one process instead of being refused")


def test_several_workers_on_sqlite_are_refused_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("hub.cli._serve", _not_served)
    monkeypatch.setattr("hub.cli._serve_staged", _not_served)
    monkeypatch.setenv("BACKA_DEMO_MODE", "true")
    monkeypatch.delenv("BACKA_DATABASE_URL", raising=False)
    assert main(["serve", "--workers", "2", "--data-dir", str(tmp_path / "data")]) == 2
    assert "need PostgreSQL" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # refused before anything was made


def test_the_workers_setting_is_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("hub.cli._serve", _not_served)
    monkeypatch.setattr("hub.cli._serve_staged", _not_served)
    monkeypatch.setenv("BACKA_DEMO_MODE", "true")
    monkeypatch.setenv("BACKA_STORE", "memory")
    monkeypatch.setenv("BACKA_WORKERS", "3")
    assert main(["serve", "--data-dir", str(tmp_path / "data")]) == 2
    assert "3 worker processes need PostgreSQL" in capsys.readouterr().err


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _workers(pid: int) -> list[int]:
    """The multiprocessing children that run a server (not its resource tracker)."""
    workers = []
    for child in _children(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"spawn_main" in command or b"forkserver" in command:
            workers.append(child)
    return workers


def test_serve_with_two_workers_starts_two_processes_that_answer_health(pg_schema: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "BACKA_DATABASE_URL": postgres_url(pg_schema),
        "BACKA_DEMO_MODE": "true",
        "BACKA_DATA_DIR": str(tmp_path / "data"),
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "serve", "--workers", "2", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        answered = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                answered = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
                if len(_workers(server.pid)) == 2:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert server.poll() is None, log.read_text()
        assert answered is not None and answered.status_code == 200, log.read_text()
        workers = _workers(server.pid)
        assert len(workers) == 2, log.read_text()
        for _ in range(20):
            assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
        refused = {503}  # each worker answers 503 (starting) until its hub is built, then as the hub does
        while time.monotonic() < deadline and refused != {401}:
            refused = {httpx.get(f"http://127.0.0.1:{port}/api/v1/case-list", timeout=5).status_code for _ in range(10)}
            time.sleep(0.2)
        assert refused == {401}, log.read_text()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def test_a_read_waits_for_the_other_process_s_facts_and_not_for_its_records_of_reads(two: tuple[Runtime, Runtime]) -> None:
    from hub.runtime.log_head import last_fact_position

    a, b = two
    child = register(a)
    a.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    fact = a.hub.log_length()
    b.hub.read_child(staff(BK), child, purpose="Möte")
    b.hub.read_child(staff(BK), child, purpose="Möte")

    assert a.hub.log_length() == fact + 2  # both reads recorded
    assert last_fact_position(a.hub.recorder) == fact
    assert last_fact_position(a.hub.recorder, after=fact - 1) == fact
    assert last_fact_position(a.hub.recorder, after=fact) == 0  # only reads since: nothing to wait for


def test_workers_started_together_on_a_fresh_folder_share_one_set_of_keys(pg_schema: str, tmp_path: Path) -> None:
    """As ``uvicorn --factory hub.http.asgi:app_from_env --workers 3`` starts them, with no
    build before: every worker trusts the one demo issuer key the folder keeps."""
    from litestar.testing import TestClient

    from hub.http.asgi import app_from_env
    from hub.identity.tokens import DemoIssuer
    from hub.runtime.clock import system_clock

    url = postgres_url(pg_schema).replace("connect_timeout=2", "connect_timeout=15")  # three pools fill at once
    settings = Settings(database_url=url, data_dir=tmp_path / "data", demo_mode=True)
    (tmp_path / "data").mkdir()
    directory().save(tmp_path / "data" / "directory.json")
    apps: list[object] = []
    failures: list[BaseException] = []
    gate = threading.Barrier(3)

    def start() -> None:
        try:
            gate.wait()
            apps.append(app_from_env(settings))
        except BaseException as e:  # noqa: BLE001 - handed to the test's thread
            failures.append(e)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures
    issuer = DemoIssuer.from_folder(tmp_path / "data" / "demo", settings.audience, system_clock)
    token = issuer.staff_token("ystad", BK, "skola-ostra", ["barnkontakt", "team_member"])
    for app in apps:
        with TestClient(app) as client:  # type: ignore[arg-type]
            answer = client.get("/api/v1/case-list", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200, answer.text


def test_a_read_finds_the_views_where_the_other_process_took_them_without_applying_its_facts_again(
    two: tuple[Runtime, Runtime],
) -> None:
    a, b = two
    b.hub.case_list(staff(BK))  # the other process has looked at its views
    child = register(a)
    a.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload())
    a.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    a.hub.refresh_views()  # the process that committed took its facts into the views

    assert b.hub.follower.catch_up(upto=a.hub.log_length()) == 0  # nothing read from the log again
    assert b.hub.follower.reached >= a.hub.log_length()
    assert child in {row.child_id for row in b.hub.case_list(staff(BK))}


def test_an_erasure_the_other_process_took_into_the_views_still_drops_the_child_s_key_from_this_one(
    two: tuple[Runtime, Runtime],
) -> None:
    a, b = two
    b.hub.case_list(staff(BK))
    child = register(a)
    a.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    b.hub.read_child(staff(BK), child, purpose="Möte")
    assert b.keys is not None and child.bytes in b.keys._cache  # noqa: SLF001 - the key this process opened

    a.hub.erase_child(staff("admin.ystad"), child, reason="Vårdnadshavarna begärde radering")
    a.hub.refresh_views()
    b.hub.follower.catch_up(upto=a.hub.log_length())

    assert child.bytes not in b.keys._cache  # noqa: SLF001 - nothing left in memory to open the child's facts
