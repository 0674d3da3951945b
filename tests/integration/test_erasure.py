"""Erasing a child's record by destroying its key: who may, what is left, and that it holds.

After an erasure nothing of the child can be read or added to, in this process or any
other on the same store; the views keep only the fact of the erasure; the log keeps its
positions, so the audit still verifies; and the key is gone from the key store's files.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from litestar.testing import TestClient
from personnummer import personnummer as swedish_id
from psycopg import sql

from consent import ViewerKind
from contracts.events import ErasedFact, RecordErased
from contracts.vocabulary import Category, Role
from hub.application.readmodels import FamilyChild
from hub.cli import main
from hub.errors import (
    ChildNotFoundError,
    ErasureUnavailableError,
    InvalidInputError,
    NotPermittedError,
    RecordErasedError,
    StoreUnavailableError,
)
from hub.http import create_app
from hub.identity.principals import Principal
from hub.keys.child_keys import DESTROYED, KEYS_DB, ChildKeyDestroyedError
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock, system_clock
from hub.runtime.settings import Settings
from projections.accesslog import AccessLogView
from projections.caselist import CaseListView
from projections.record import ChildRecordView
from tests.conftest import POSTGRES_URL, family, postgres_url, register_child
from tests.factories import (
    GUARDIAN_1_PNR,
    GUARDIAN_2_PNR,
    OTHER_TENANT,
    STAFF,
    START,
    TENANT,
    card_payload,
    conversation_payload,
    directory,
    plan_payload,
    staff,
)

BK = "rektor.ostra"
ADMIN = "admin.ystad"
OTHER_CHILD_PNR = "201103202386"
REASON = "Registrerad av misstag"
API = "/api/v1"
VIEW_FILES = ("view_child_record.sqlite", "view_case_list.sqlite", "view_access_log.sqlite")


def admin() -> Principal:
    return staff(ADMIN)


def settings(kind: str, data_dir: Path, schema: str | None = None, **more: Any) -> Settings:
    url = postgres_url(schema) if schema else None
    return Settings(store=kind, database_url=url, data_dir=data_dir, demo_mode=True, **more)  # type: ignore[arg-type]


def process(rt: Runtime) -> UUID:
    """Alva: registered, a discovery card, a Barnkontakt, a conversation, reads by staff and family."""
    child = register_child(rt)
    assert isinstance(child, UUID)
    hub = rt.hub
    hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra"))
    hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    hub.hold_conversation(staff(BK), child, **conversation_payload("child"))
    hub.read_child(staff(BK), child, purpose="Förbereda samtal")
    hub.family_access_log(family(rt, GUARDIAN_1_PNR), child)
    return child


def other_process(rt: Runtime) -> UUID:
    """A second child of the same guardians, in the same hub."""
    assert swedish_id.valid(OTHER_CHILD_PNR)
    child = rt.hub.register_child(
        staff("larare.ostra"),
        personnummer=OTHER_CHILD_PNR,
        given_name="Elis",
        family_name="Lind",
        guardians=[
            {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
            {"name": "Bo Lind", "personnummer": GUARDIAN_2_PNR, "has_custody": True},
        ],
    )
    rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra"))
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    rt.hub.read_child(staff(BK), child, purpose="Förbereda samtal")
    return child


def view_rows(rt: Runtime, child: UUID) -> dict[str, int]:
    """How many rows each view table still holds for the child, whether or not they open."""
    counts = {}
    for view, tables in (
        (rt.hub.views.record, ("record_items", "guardianships", "children")),
        (rt.hub.views.cases, ("cases",)),
        (rt.hub.views.access, ("access_log", "access_reviews")),
    ):
        with view.read() as c:
            for table in tables:
                c.execute(f"SELECT COUNT(*) AS n FROM {table} WHERE child_id = ?", (str(child),))  # noqa: S608
                counts[table] = int(c.fetchone()["n"])
    return counts


def child_facts_decoded(rt: Runtime, child: UUID) -> list[Any]:
    hub = rt.hub
    return [
        r.fact
        for r in (hub.mapper.to_domain_event(n) for n in hub.recorder.select_notifications(1, hub.log_length() + 1))
        if r.originator_id == child or getattr(r.fact, "child_id", None) == child
    ]


# -- 1. who may erase -----------------------------------------------------------------------


def test_only_the_tenant_admin_may_erase_and_a_refusal_appends_nothing(runtime: Runtime) -> None:
    child = process(runtime)
    before = runtime.hub.log_length()
    other_admin = Principal(ViewerKind.STAFF, OTHER_TENANT, "admin.lidingo", frozenset({Role.TENANT_ADMIN}))

    for who in (staff(BK), family(runtime, GUARDIAN_1_PNR), staff("granskare.ystad")):
        with pytest.raises(NotPermittedError):
            runtime.hub.erase_child(who, child, reason=REASON)
    for outsider in (other_admin, staff("rektor.lidingo", OTHER_TENANT), staff("bup.ystad")):
        with pytest.raises(ChildNotFoundError):  # whoever has no part in the case does not learn the child exists
            runtime.hub.erase_child(outsider, child, reason=REASON)
    with pytest.raises(InvalidInputError):
        runtime.hub.erase_child(admin(), child, reason="")

    assert runtime.hub.log_length() == before
    assert runtime.hub.child_facts(staff(BK), child).erased is False
    assert runtime.hub.read_child(staff(BK), child, purpose="Uppföljning").items


def test_a_reason_of_only_blanks_is_refused_and_nothing_is_erased(memory_runtime: Runtime) -> None:
    child = register_child(memory_runtime)
    before = memory_runtime.hub.log_length()

    with pytest.raises(InvalidInputError):
        memory_runtime.hub.erase_child(admin(), child, reason="   ")  # type: ignore[arg-type]

    assert memory_runtime.hub.log_length() == before


def test_a_hub_whose_log_is_not_sealed_per_child_cannot_erase(clock: SettableClock) -> None:
    rt = bootstrap(Settings(store="memory", demo_mode=True, encrypt_log=False), clock=clock, directory=directory())
    try:
        child = register_child(rt)
        before = rt.hub.log_length()
        with pytest.raises(ErasureUnavailableError):
            rt.hub.erase_child(admin(), child, reason=REASON)  # type: ignore[arg-type]
        assert rt.hub.log_length() == before
        assert rt.hub.child_facts(staff(BK), child).erased is False  # type: ignore[arg-type]
    finally:
        rt.close()


# -- 2. what an erasure leaves ------------------------------------------------------------------


def test_an_erased_record_is_neither_read_nor_added_to_and_another_child_is_untouched(
    runtime: Runtime, clock: SettableClock
) -> None:
    hub = runtime.hub
    child = process(runtime)
    other = other_process(runtime)
    erased_at = clock.advance(timedelta(hours=2))
    hub.erase_child(admin(), child, reason=REASON)
    after = hub.log_length()
    guardian = family(runtime, GUARDIAN_1_PNR)

    reads: list[Callable[[], Any]] = [
        lambda: hub.read_child(staff(BK), child, purpose="Uppföljning"),
        lambda: hub.read_child(guardian, child, purpose="family view", view="family_view"),
        lambda: hub.timeline(staff(BK), child, purpose="Uppföljning"),
        lambda: hub.consent_overview(staff(BK), child),
        lambda: hub.family_access_log(guardian, child),
        lambda: hub.child_facts(staff(BK), child),
    ]
    commands: list[Callable[[], Any]] = [
        lambda: hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra")),
        lambda: hub.assign_barnkontakt(staff(BK), child, staff_id=BK),
        lambda: register_child(runtime),
        lambda: hub.erase_child(admin(), child, reason="En gång till"),
    ]
    for call in reads + commands:
        with pytest.raises(RecordErasedError):
            call()
    assert hub.log_length() == after, "a refusal on an erased record appends nothing, not even a read"

    # The other child of the same guardians is as it was.
    shown = hub.read_child(staff(BK), other, purpose="Uppföljning")
    identity = [i for i in shown.items if i.category is Category.IDENTITY]
    assert identity and identity[0].fields["given_name"] == "Elis"
    assert hub.family_access_log(guardian, other)
    assert hub.family_children(guardian) == [FamilyChild(child_id=other)]
    assert [row.child_id for row in hub.case_list(staff(BK))] == [other]
    hub.hold_conversation(staff(BK), other, **conversation_payload("guardian"))

    hub.refresh_views()
    views = hub.views
    assert views.record.items(child) == []
    assert views.cases.document(child) is None
    assert views.access.search(TENANT, child_id=child, limit=10_000) == []
    assert child not in views.record.children_of_guardian(TENANT, guardian.party_id or "")
    assert view_rows(runtime, child) == dict.fromkeys(view_rows(runtime, other), 0)
    assert all(n > 0 for t, n in view_rows(runtime, other).items() if t != "access_reviews")
    assert views.record.erasure(child) == (TENANT, erased_at, ADMIN)
    assert views.record.erasures(TENANT) == [(child, erased_at, ADMIN)]
    assert views.record.erasure(other) is None


def test_every_command_on_an_erased_record_is_refused_as_erased(memory_runtime: Runtime) -> None:
    hub = memory_runtime.hub
    child = process(memory_runtime)
    card = hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra")).card_id
    consent = hub.request_consent(
        staff(BK), child, recipients=[{"unit_kind": "bup"}], categories=["needs"], purpose="Barnteam"
    )
    hub.erase_child(admin(), child, reason=REASON)
    after = hub.log_length()
    guardian = family(memory_runtime, GUARDIAN_1_PNR)
    today = START.date()

    commands: list[Callable[[], Any]] = [
        lambda: hub.send_feedback(staff(BK), child, card_id=card, message="Samtal bokat"),
        lambda: hub.hold_conversation(staff(BK), child, **conversation_payload("guardian")),
        lambda: hub.request_consent(
            staff(BK), child, recipients=[{"unit_kind": "bup"}], categories=["needs"], purpose="Barnteam"
        ),
        lambda: hub.grant_consent(guardian, child, consent),
        lambda: hub.withdraw_consent(guardian, child, consent),
        lambda: hub.update_plan(staff(BK), child, **plan_payload(today)),
        lambda: hub.hold_follow_up(staff(BK), child, summary="Uppföljning"),
        lambda: hub.withhold_information(staff(BK), child, event_ids=[UUID(int=1)], reason="Sekretess"),
    ]
    for call in commands:
        with pytest.raises(RecordErasedError):
            call()
    assert hub.log_length() == after


# -- 3. over HTTP -------------------------------------------------------------------------------


def bearer(rt: Runtime, user_id: str, tenant: str = TENANT) -> dict[str, str]:
    assert rt.demo_issuer is not None
    if tenant == OTHER_TENANT:
        token = rt.demo_issuer.staff_token(OTHER_TENANT, user_id, "skola-lidingo", [Role.BARNKONTAKT.value])
    else:
        unit, roles = STAFF[user_id]
        token = rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles))
    return {"Authorization": f"Bearer {token}"}


def test_an_erased_child_answers_410_in_its_tenant_and_404_in_another(runtime: Runtime) -> None:
    child = process(runtime)
    runtime.hub.erase_child(admin(), child, reason=REASON)
    before = runtime.hub.log_length()

    with TestClient(create_app(runtime)) as client:
        gone = client.get(f"{API}/children/{child}", headers=bearer(runtime, BK))
        timeline = client.get(f"{API}/children/{child}/timeline", headers=bearer(runtime, BK))
        elsewhere = client.get(f"{API}/children/{child}", headers=bearer(runtime, "rektor.lidingo", OTHER_TENANT))
        unknown = client.get(f"{API}/children/{UUID(int=7)}", headers=bearer(runtime, "rektor.lidingo", OTHER_TENANT))

    assert gone.status_code == 410
    assert gone.headers["content-type"].startswith("application/problem+json")
    body = gone.json()
    assert body["type"] == "urn:backa:problem:record-erased"
    assert body["status"] == 410
    assert "erased" in body["detail"]
    assert REASON not in gone.text
    assert timeline.status_code == 410
    assert elsewhere.status_code == 404, "another tenant must not learn that the child existed"
    assert elsewhere.json()["type"] == unknown.json()["type"]
    assert "erased" not in elsewhere.text
    assert runtime.hub.log_length() == before


# -- 4. views rebuilt after an erasure, and the audit --------------------------------------------


def live_views(rt: Runtime, other: UUID) -> dict[str, Any]:
    rt.hub.refresh_views()
    views = rt.hub.views
    return {
        "cases": views.cases.documents(TENANT),
        "access": views.access.search(TENANT, limit=10_000),
        "erasures": views.record.erasures(TENANT),
        "items": [(i.position, i.category, i.fields) for i in views.record.items(other)],
        "guardian": views.record.children_of_guardian(TENANT, family(rt, GUARDIAN_1_PNR).party_id or ""),
    }


def drop_postgres_views(schema: str) -> None:
    tables = [
        name
        for view in (ChildRecordView, CaseListView, AccessLogView)
        for name in (
            *re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", " ".join(view.table_statements)),
            f"{view.name}_tracking",
        )
    ]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        for table in tables:
            db.execute(sql.SQL("DROP TABLE {0}").format(sql.Identifier(schema, table)))


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_views_rebuilt_from_the_log_after_an_erasure_equal_the_live_ones_and_the_log_still_verifies(
    kind: str, clock: SettableClock, tmp_path: Path, request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    schema = request.getfixturevalue("pg_schema") if kind == "postgres" else None
    data = tmp_path / "data"
    rt = bootstrap(settings(kind, data, schema), clock=clock, directory=directory())
    try:
        child = process(rt)
        other = other_process(rt)
        kept = tmp_path / "before-erasure.note"
        if kind == "sqlite":
            monkeypatch.delenv("BACKA_DATABASE_URL", raising=False)
            monkeypatch.delenv("BACKA_STORE", raising=False)
            assert main(["audit", "checkpoint", "--data-dir", str(data), "--out", str(kept)]) == 0
        clock.advance(timedelta(hours=1))
        rt.hub.erase_child(admin(), child, reason=REASON)
        rt.hub.hold_conversation(staff(BK), other, **conversation_payload("guardian"))
        rt.hub.read_child(staff(BK), other, purpose="Efter radering")
        live = live_views(rt, other)
    finally:
        rt.close()
    assert [e for e in live["access"] if e.child_id == child] == []
    assert [d for d in live["cases"] if d.get("child_id") == str(child)] == []
    assert [c for c, _, _ in live["erasures"]] == [child]

    if kind == "sqlite":
        for name in VIEW_FILES:
            for path in data.glob(f"{name}*"):
                path.unlink()
    else:
        assert schema is not None
        drop_postgres_views(schema)
    rebuilt_rt = bootstrap(settings(kind, data, schema), clock=clock, directory=directory())
    try:
        assert rebuilt_rt.hub.views.record.erasures(TENANT) == live["erasures"]
        rebuilt = live_views(rebuilt_rt, other)
        assert view_rows(rebuilt_rt, child) == dict.fromkeys(view_rows(rebuilt_rt, child), 0)
    finally:
        rebuilt_rt.close()
    assert rebuilt == live

    if kind == "sqlite":
        capsys.readouterr()
        code = main(["audit", "verify", "--data-dir", str(data), "--checkpoint", str(kept)])
        said = capsys.readouterr().err
        assert code == 0, said
        assert "the log verifies" in said
        assert f"kept checkpoint {kept}" in said and "is consistent with the latest" in said


# -- 5. an erasure on record is never left undone --------------------------------------------------


def test_a_key_left_undestroyed_by_a_crash_is_destroyed_when_the_next_process_reads_the_erasure(
    clock: SettableClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    crashed = bootstrap(settings("sqlite", data, views_poll_seconds=60), clock=clock, directory=directory())
    try:
        child = process(crashed)
        before = crashed.hub.log_length()
        assert crashed.keys is not None

        def power_cut(child_id: UUID) -> bool:
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(crashed.keys.store, "destroy", power_cut)
        with pytest.raises(StoreUnavailableError, match="the erasure is on record"):
            crashed.hub.erase_child(admin(), child, reason=REASON)
        assert crashed.hub.log_length() == before + 1, "the erasure is on record before the key is destroyed"
        stored = crashed.keys.store.get(child)
        assert stored is not None and not stored.destroyed, "the crash left the key in the store"
    finally:
        crashed.close()

    fresh = bootstrap(settings("sqlite", data), clock=clock, directory=directory())
    try:
        fresh.hub.refresh_views()
        assert fresh.keys is not None
        stored = fresh.keys.store.get(child)
        assert stored is not None and stored.kek_id == DESTROYED
        facts = child_facts_decoded(fresh, child)
        assert isinstance(facts[-1], RecordErased)
        assert facts[:-1] and all(isinstance(f, ErasedFact) for f in facts[:-1])
        with pytest.raises(RecordErasedError):
            fresh.hub.read_child(staff(BK), child, purpose="Uppföljning")
        assert fresh.hub.views.record.erasure(child) is not None
    finally:
        fresh.close()


# -- 6. two processes on one store ----------------------------------------------------------------


@pytest.fixture
def two(clock: SettableClock, tmp_path: Path) -> Iterator[tuple[Runtime, Runtime]]:
    """Two hubs on one SQLite folder; B only follows the log when told to."""
    data = tmp_path / "data"
    a = bootstrap(settings("sqlite", data), clock=clock, directory=directory())
    b = bootstrap(settings("sqlite", data, views_poll_seconds=60), clock=clock, directory=directory())
    yield a, b
    b.close()
    a.close()


def test_another_process_refuses_the_child_once_it_follows_the_erasure_and_its_key_no_longer_opens(
    two: tuple[Runtime, Runtime],
) -> None:
    a, b = two
    child = process(a)
    b.hub.refresh_views()
    assert b.hub.read_child(staff(BK), child, purpose="Uppföljning").items
    sealed = [n.state for n in b.hub.recorder.select_notifications(1, b.hub.log_length()) if n.originator_id == child]

    a.hub.erase_child(admin(), child, reason=REASON)
    b.hub.refresh_views()

    with pytest.raises(RecordErasedError):
        b.hub.read_child(staff(BK), child, purpose="Uppföljning")
    with pytest.raises(RecordErasedError):
        b.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra"))
    assert b.keys is not None
    for state in sealed:
        with pytest.raises(ChildKeyDestroyedError):
            b.keys.open(state)
    facts = child_facts_decoded(b, child)
    assert all(isinstance(f, ErasedFact) for f in facts[:-1]) and isinstance(facts[-1], RecordErased)
    assert b.hub.views.cases.document(child) is None


def test_lists_of_another_process_leave_out_a_child_erased_before_its_views_follow(
    two: tuple[Runtime, Runtime],
) -> None:
    a, b = two
    child = process(a)
    other = other_process(a)
    b.hub.refresh_views()

    a.hub.erase_child(admin(), child, reason=REASON)

    assert b.hub.family_children(family(b, GUARDIAN_1_PNR)) == [FamilyChild(child_id=other)]
    assert [row.child_id for row in b.hub.case_list(staff(BK))] == [other]


# -- 7. backa forget --------------------------------------------------------------------------------


@pytest.fixture
def forget_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Runtime]]:
    """An SQLite hub in demo mode with one child, closed, and the CLI's environment pointing at it.
    On the system clock: the CLI checks tokens against the time now."""
    for name in ("BACKA_DATABASE_URL", "BACKA_STORE", "BACKA_KEK", "BACKA_KEK_FILE", "BACKA_TOKEN", "BACKA_ENCRYPT_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BACKA_DEMO_MODE", "true")
    data = tmp_path / "data"
    data.mkdir(parents=True)
    directory().save(data / "directory.json")
    rt = bootstrap(settings("sqlite", data), clock=system_clock, directory=directory())
    yield data, rt
    rt.close()


def stored_facts(data: Path) -> int:
    db = sqlite3.connect(data / "events.sqlite")
    try:
        return int(db.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])
    finally:
        db.close()


def forget(data: Path, child: object, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["forget", str(child), "--reason", REASON, "--data-dir", str(data)])
    return code, capsys.readouterr().err


def test_backa_forget_erases_with_the_admins_token_and_refuses_anyone_else(
    forget_hub: tuple[Path, Runtime], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, rt = forget_hub
    child = register_child(rt)
    tokens = {user: bearer(rt, user)["Authorization"].removeprefix("Bearer ") for user in (BK, ADMIN)}
    rt.close()
    facts = stored_facts(data)

    code, said = forget(data, child, capsys)  # no token
    assert code == 2 and "BACKA_TOKEN" in said
    monkeypatch.setenv("BACKA_TOKEN", tokens[ADMIN])
    code, said = forget(data, "not-a-child-id", capsys)
    assert code == 2 and "UUID" in said
    monkeypatch.setenv("BACKA_TOKEN", tokens[BK])
    code, said = forget(data, child, capsys)
    assert code == 2 and "refused" in said
    assert stored_facts(data) == facts, "no refusal appends anything"

    monkeypatch.setenv("BACKA_TOKEN", tokens[ADMIN])
    code, said = forget(data, child, capsys)
    assert code == 0, said
    assert "erased" in said and REASON not in said
    assert stored_facts(data) == facts + 1
    code, said = forget(data, child, capsys)
    assert code == 2, "a record is erased once"
    assert stored_facts(data) == facts + 1

    after = bootstrap(settings("sqlite", data), clock=system_clock, directory=directory())
    try:
        with pytest.raises(RecordErasedError):
            after.hub.read_child(staff(BK), child, purpose="Uppföljning")  # type: ignore[arg-type]
        erasure = after.hub.views.record.erasure(child)  # type: ignore[arg-type]
        assert erasure is not None and erasure[0] == TENANT and erasure[2] == ADMIN
        assert after.keys is not None
        stored = after.keys.store.get(child)  # type: ignore[arg-type]
        assert stored is not None and stored.destroyed
    finally:
        after.close()


# -- 8. what the key stores keep of a destroyed key ---------------------------------------------------


def test_sqlite_keeps_no_copy_of_a_destroyed_key_in_its_file_or_its_wal(clock: SettableClock, tmp_path: Path) -> None:
    data = tmp_path / "data"
    rt = bootstrap(settings("sqlite", data), clock=clock, directory=directory())
    try:
        child = process(rt)
        assert rt.keys is not None
        stored = rt.keys.store.get(child)
        assert stored is not None
        files = [data / KEYS_DB, data / f"{KEYS_DB}-wal"]
        assert any(stored.wrapped in p.read_bytes() for p in files if p.exists()), "the key is in the files before"

        rt.hub.erase_child(admin(), child, reason=REASON)

        for path in files:
            if path.exists():
                assert stored.wrapped not in path.read_bytes(), path.name
        assert rt.keys.store.get(child).kek_id == DESTROYED  # type: ignore[union-attr]
    finally:
        rt.close()


def test_postgres_keeps_only_a_tombstone_of_a_destroyed_key(clock: SettableClock, tmp_path: Path, pg_schema: str) -> None:
    rt = bootstrap(settings("postgres", tmp_path / "data", pg_schema), clock=clock, directory=directory())
    try:
        child = process(rt)
        assert rt.keys is not None
        stored = rt.keys.store.get(child)
        assert stored is not None and len(stored.wrapped) > 0
        rt.hub.erase_child(admin(), child, reason=REASON)
    finally:
        rt.close()

    table = sql.Identifier(pg_schema, "child_keys")
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        row = db.execute(sql.SQL("SELECT kek_id, wrapped FROM {0} WHERE child_id = %s").format(table), (child,)).fetchone()
        holding = db.execute(
            sql.SQL("SELECT COUNT(*) FROM {0} WHERE position(%s::bytea in wrapped) > 0").format(table), (stored.wrapped,)
        ).fetchone()
    assert row is not None and (row[0], bytes(row[1])) == (DESTROYED, b"")
    assert holding == (0,)
