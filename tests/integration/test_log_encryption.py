"""The stored log sealed per child, in SQLite and in PostgreSQL, read around the hub.

What someone with the database but not the key-encryption key sees: topics, ids and
versions, and no name or personnummer of anyone. The hub itself reads everything back;
a KEK rotation rewraps the child keys and leaves every stored fact as it was.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from hub.cli import main
from hub.keys.child_keys import (
    KEYS_DB,
    ChildKeySealer,
    KekConfigError,
    KekMismatchError,
    Keyring,
    WrappedKey,
    read_kek_file,
    write_kek_file,
)
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from hub.runtime.stores import StoreKit, store_kit
from tests.conftest import POSTGRES_URL, family, postgres_url, register_child
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, START, card_payload, conversation_payload, directory, staff

BK = "rektor.ostra"
MARKER = "markord-7731-hemligt"
PERSONAL = [CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, "Alva", "Lind", "Anna", MARKER, "Rastvakt"]
"""What the stored bytes must not show: names, personnummer and free text of the process."""


@dataclass
class Store:
    kind: str
    data_dir: Path
    schema: str | None
    kits: list[StoreKit] = field(default_factory=list)

    def settings(self, kek_file: Path | None, **more: Any) -> Settings:
        url = postgres_url(self.schema) if self.schema else None
        return Settings(store=self.kind, database_url=url, data_dir=self.data_dir, demo_mode=True, kek_file=kek_file, **more)  # type: ignore[arg-type]

    def _query(self, query: str) -> list[tuple[Any, ...]]:
        if self.schema is None:
            db = sqlite3.connect(self.data_dir / ("events.sqlite" if "{events}" in query else KEYS_DB))
            try:
                return db.execute(query.format(events="stored_events", keys="child_keys")).fetchall()
            finally:
                db.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
            text = query.format(
                events=sql.Identifier(self.schema, "backa_events").as_string(db),
                keys=sql.Identifier(self.schema, "child_keys").as_string(db),
            )
            return db.execute(text).fetchall()  # type: ignore[arg-type]

    def states(self) -> list[bytes]:
        """The stored ``state`` column of every event, as the database holds it."""
        return [bytes(r[0]) for r in self._query("SELECT state FROM {events} ORDER BY 1")]

    def rows(self) -> list[tuple[str, int, str, bytes]]:
        found = self._query("SELECT originator_id, originator_version, topic, state FROM {events}")
        return sorted((str(o), int(v), str(t), bytes(s)) for o, v, t, s in found)

    def key_rows(self) -> list[tuple[Any, ...]]:
        return sorted((bytes(c) if isinstance(c, bytes | memoryview) else str(c), k) for c, k, _ in self._query("SELECT child_id, kek_id, wrapped FROM {keys}"))

    def key_store(self) -> Any:
        """The key store as another process of the hub opens it: a kit of its own."""
        kit = store_kit(self.settings(None))
        self.kits.append(kit)
        return kit.key_store()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.delenv("BACKA_STORE", raising=False)
    monkeypatch.delenv("BACKA_KEK", raising=False)
    if request.param == "postgres":
        schema = request.getfixturevalue("pg_schema")
        monkeypatch.setenv("BACKA_DATABASE_URL", postgres_url(schema))  # what the CLI reads
        made = Store("postgres", tmp_path / "data", schema)
    else:
        monkeypatch.delenv("BACKA_DATABASE_URL", raising=False)
        made = Store("sqlite", tmp_path / "data", None)
    yield made
    for kit in made.kits:
        kit.close()


@pytest.fixture
def kek(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "kek-1"
    write_kek_file(path)
    return path


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(START)


def small_process(rt: Runtime) -> UUID:
    """Registration, a discovery card, a Barnkontakt, a conversation with the child, reads."""
    child = register_child(rt)
    assert isinstance(child, UUID)
    rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra"))
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    rt.hub.hold_conversation(staff(BK), child, **{**conversation_payload(), "summary": f"Samtal {MARKER}"})
    rt.hub.family_access_log(family(rt, GUARDIAN_1_PNR), child)
    return child


def decoded(rt: Runtime) -> str:
    """Every stored fact as the hub reads it back."""
    return "\n".join(rt.hub.mapper.to_domain_event(n).fact.model_dump_json() for n in rt.hub.recorder.select_notifications(1, 10_000))


def started(settings: Settings, clock: SettableClock) -> Runtime:
    return bootstrap(settings, clock=clock, directory=directory())


def test_the_stored_states_show_no_personal_fact_while_the_hub_reads_everything(
    store: Store, kek: Path, clock: SettableClock
) -> None:
    rt = started(store.settings(kek), clock)
    try:
        child = small_process(rt)
        assert isinstance(rt.hub.sealer, ChildKeySealer)
    finally:
        rt.close()
    states = store.states()
    assert len(states) >= 5
    for state in states:
        assert all(marker.encode() not in state for marker in PERSONAL)
        assert state.startswith(b"BK\x01" + child.bytes)
    assert len(store.key_rows()) == 1  # one key, for the one child

    again = started(store.settings(kek), clock)
    try:
        facts = decoded(again)
        assert all(marker in facts for marker in PERSONAL)
        assert [c.child_id for c in again.hub.family_children(family(again, GUARDIAN_2_PNR))] == [child]
    finally:
        again.close()


def test_a_wrong_kek_at_start_is_refused_before_anything_is_served(
    store: Store, kek: Path, tmp_path: Path, clock: SettableClock, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rt = started(store.settings(kek), clock)
    try:
        small_process(rt)
    finally:
        rt.close()
    wrong = tmp_path / "keys" / "wrong"
    write_kek_file(wrong)
    with pytest.raises(KekMismatchError, match="the key-encryption key does not open the stored child keys"):
        started(store.settings(wrong), clock)
    monkeypatch.setenv("BACKA_KEK_FILE", str(wrong))
    monkeypatch.setenv("BACKA_CHECKPOINT_KEY_FILE", str(tmp_path / "keys" / "transparency.key"))
    (tmp_path / "witness").mkdir()
    monkeypatch.setenv("BACKA_WITNESS_DIR", str(tmp_path / "witness"))
    assert main(["serve", "--port", "1", "--data-dir", str(store.data_dir)]) == 2
    err = capsys.readouterr().err
    assert "the key-encryption key does not open the stored child keys" in err
    assert wrong.read_text().strip() not in err


def test_rotating_the_kek_rewraps_the_child_keys_and_leaves_the_log_untouched(
    store: Store, kek: Path, tmp_path: Path, clock: SettableClock, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rt = started(store.settings(kek), clock)
    try:
        small_process(rt)
    finally:
        rt.close()
    log_before, keys_before = store.rows(), store.key_rows()
    new = tmp_path / "keys" / "kek-2"
    assert main(["keys", "new-kek", "--out", str(new)]) == 0
    monkeypatch.setenv("BACKA_KEK_FILE", str(kek))
    assert main(["keys", "rotate-kek", "--new", str(new), "--data-dir", str(store.data_dir)]) == 0
    assert "1 child keys rewrapped" in capsys.readouterr().err
    assert store.rows() == log_before
    keys_after = store.key_rows()
    assert [c for c, _ in keys_after] == [c for c, _ in keys_before]
    assert {k for _, k in keys_after} == {read_kek_file(new)[0].id} != {k for _, k in keys_before}

    with pytest.raises(KekMismatchError):
        started(store.settings(kek), clock)
    rt = started(store.settings(new), clock)
    try:
        assert all(marker in decoded(rt) for marker in PERSONAL)
    finally:
        rt.close()
    monkeypatch.setenv("BACKA_KEK_FILE", str(new))
    assert main(["keys", "rotate-kek", "--new", str(new), "--data-dir", str(store.data_dir)]) == 0
    assert "0 child keys rewrapped" in capsys.readouterr().err


def test_two_processes_creating_a_new_childs_key_at_once_end_with_one_key(store: Store, kek: Path) -> None:
    """Two connections both find no key, both insert one: the loser takes the winner's."""
    ring = Keyring(read_kek_file(kek))
    both_looked = threading.Barrier(2)
    child = UUID("3d1f4c2a-0b5e-4c7d-9a8b-112233445566")

    class Racing:
        def __init__(self) -> None:
            self.store = store.key_store()
            self.looked = False

        def get(self, child_id: UUID) -> WrappedKey | None:
            found = self.store.get(child_id)
            if not self.looked:
                self.looked = True
                both_looked.wait(timeout=10)
            return found

        def __getattr__(self, name: str) -> Any:
            return getattr(self.store, name)

    sealers = [ChildKeySealer(Racing(), ring), ChildKeySealer(Racing(), ring)]  # type: ignore[arg-type]
    sealed: list[bytes] = []
    threads = [threading.Thread(target=lambda s=s: sealed.append(s.seal(child, b"{}"))) for s in sealers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(sealed) == 2
        assert len(store.key_rows()) == 1
        assert sealers[0].open(sealed[1]) == sealers[1].open(sealed[0]) == b"{}"
    finally:
        for s in sealers:
            s.close()


def test_outside_demo_mode_a_stored_log_needs_a_configured_kek(tmp_path: Path, clock: SettableClock) -> None:
    with pytest.raises(KekConfigError, match="BACKA_KEK_FILE"):
        bootstrap(Settings(data_dir=tmp_path / "data", encrypt_log=True), clock=clock, directory=directory())
    assert not (tmp_path / "data" / KEYS_DB).exists()
    rt = bootstrap(Settings(store="memory", encrypt_log=True), clock=clock, directory=directory())
    try:
        assert isinstance(rt.hub.sealer, ChildKeySealer)
        register_child(rt)
    finally:
        rt.close()


def test_demo_mode_makes_its_kek_in_the_data_folder_and_keeps_using_it(tmp_path: Path, clock: SettableClock) -> None:
    settings = Settings(data_dir=tmp_path / "data", demo_mode=True, encrypt_log=True)
    rt = bootstrap(settings, clock=clock, directory=directory())
    try:
        register_child(rt)
    finally:
        rt.close()
    made = tmp_path / "data" / "kek.key"
    assert made.stat().st_mode & 0o777 == 0o600
    rt = bootstrap(settings, clock=clock, directory=directory())
    try:
        assert CHILD_PNR in decoded(rt)
    finally:
        rt.close()
    with pytest.raises(KekConfigError, match="sealed per child"):
        bootstrap(Settings(data_dir=tmp_path / "data", demo_mode=True, encrypt_log=False), clock=clock, directory=directory())


def test_a_hub_started_with_the_defaults_seals_its_log(store: Store, clock: SettableClock) -> None:
    """What the README's demo command starts: no key configured, demo mode, every setting
    at its default; the log is sealed all the same."""
    rt = started(store.settings(None), clock)
    try:
        child = small_process(rt)
    finally:
        rt.close()
    for state in store.states():
        assert all(marker.encode() not in state for marker in PERSONAL)
        assert state.startswith(b"BK\x01" + child.bytes)
