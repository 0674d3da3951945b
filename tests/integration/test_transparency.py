"""The tamper-evident log in a running hub, on SQLite and PostgreSQL: checkpoints signed over
the stored records, on demand and at an interval; a signing key made once and kept; older
checkpoints refused; inclusion and consistency proofs over HTTP that verify against the
signed checkpoint, for auditors and for a family's own access-log entries, and forged
ones that do not."""

from __future__ import annotations

import base64
import hashlib
import logging
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from contracts.events import ErasedFact
from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from hub.tlog.checkpoint import Checkpoint, NoteError, Rejection, parse_verifier_key, sign_checkpoint, verify_checkpoint
from hub.tlog.errors import LogIntegrityError, ReplayedCheckpointError
from hub.tlog.leaves import LeafEntry
from hub.tlog.merkle import leaf_hash, root, verify_consistency, verify_inclusion
from hub.tlog.service import CheckpointPolicy, TransparencyLog
from hub.tlog.store import CHECKPOINTS_FILE, KEY_FILE, VERIFIER_FILE
from tests.conftest import family, make_settings, register_child
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, OTHER_TENANT, STAFF, TENANT, directory, staff
from tests.integration.test_audit_verify_tampering import EventTable

API = "/api/v1/transparency"
OTHER_CHILD_PNR = "201103202386"


def log_of(rt: Runtime) -> TransparencyLog:
    assert rt.transparency is not None
    return rt.transparency


def start(settings: Settings, clock: SettableClock, policy: CheckpointPolicy | None = None) -> Runtime:
    return bootstrap(settings, clock=clock, directory=directory(), checkpoint_policy=policy)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Settings, EventTable]:
    settings = make_settings(request.param, tmp_path, request)
    schema = request.getfixturevalue("pg_schema") if request.param == "postgres" else None
    return settings, EventTable(settings, schema)


@pytest.fixture
def rt(store: tuple[Settings, EventTable], clock: SettableClock) -> Iterator[Runtime]:
    runtime = start(store[0], clock)
    yield runtime
    runtime.close()


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(store="sqlite", data_dir=tmp_path / "data", demo_mode=True)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def as_staff(rt: Runtime, user_id: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    unit, roles = STAFF[user_id]
    return bearer(rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles)))


def as_guardian(rt: Runtime, personnummer: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    return bearer(rt.demo_issuer.family_token(TENANT, "guardian", personnummer))


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def documented_entry(position: int, originator_id: str, version: int, topic: str, state: bytes) -> bytes:
    """The leaf entry as hub/tlog/leaves.py documents it, written out again from the documentation."""
    oid = str(UUID(originator_id)).encode()
    return (
        b"\x01"
        + position.to_bytes(8, "big")
        + len(oid).to_bytes(2, "big")
        + oid
        + version.to_bytes(8, "big", signed=True)
        + len(topic.encode()).to_bytes(2, "big")
        + topic.encode()
        + hashlib.sha256(state).digest()
    )


def some_reads(rt: Runtime, child_id: Any, n: int) -> None:
    guardian = family(rt, GUARDIAN_1_PNR)
    for _ in range(n):
        rt.hub.family_access_log(guardian, child_id)


# -- checkpoints ---------------------------------------------------------------------------


def test_a_signed_checkpoint_commits_to_every_stored_record_as_the_database_holds_it(
    rt: Runtime, store: tuple[Settings, EventTable]
) -> None:
    child_id = register_child(rt)
    some_reads(rt, child_id, 4)

    signed = log_of(rt).checkpoint_now()

    rows = store[1].rows()
    assert len(rows) == 5
    entries = [documented_entry(*row) for row in rows]
    key = parse_verifier_key((store[0].data_dir / VERIFIER_FILE).read_text(encoding="ascii").strip())
    checkpoint = verify_checkpoint(signed.note, key, key.name)
    assert (checkpoint.size, checkpoint.root_hash) == (5, root(entries))
    assert checkpoint.origin == "backa.hub/log"  # the test directory holds two cooperation areas


def test_checkpoints_are_signed_after_the_set_number_of_facts_and_after_the_set_time(
    sqlite_settings: Settings, clock: SettableClock
) -> None:
    rt = start(sqlite_settings, clock, CheckpointPolicy(every_facts=5, every_seconds=60, clock=clock))
    try:
        log = log_of(rt)
        child_id = register_child(rt)
        some_reads(rt, child_id, 3)
        assert log.latest() is None  # four facts: not yet

        some_reads(rt, child_id, 1)
        assert log.latest() is not None and log.latest().size == 5  # type: ignore[union-attr]

        some_reads(rt, child_id, 1)
        clock.advance(timedelta(seconds=59))
        some_reads(rt, child_id, 1)
        assert log.latest().size == 5  # type: ignore[union-attr]

        clock.advance(timedelta(seconds=1))
        some_reads(rt, child_id, 1)
        assert log.latest().size == 8  # type: ignore[union-attr]
        assert log.latest().signed_at == clock()  # type: ignore[union-attr]
    finally:
        rt.close()


def test_the_signing_key_is_made_once_private_to_the_hub_and_kept_across_restarts(
    sqlite_settings: Settings, clock: SettableClock
) -> None:
    key_file = sqlite_settings.data_dir / KEY_FILE
    rt = start(sqlite_settings, clock, CheckpointPolicy(clock=clock))  # no checkpoint falls due by itself
    try:
        register_child(rt)
        assert not key_file.exists()  # made on first use, not at start
        first = log_of(rt).checkpoint_now()
        verifier = log_of(rt).verifier()
    finally:
        rt.close()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (sqlite_settings.data_dir / VERIFIER_FILE).read_text(encoding="ascii").strip() == verifier.encode()

    again = start(sqlite_settings, clock)
    try:
        assert log_of(again).verifier() == verifier
        assert log_of(again).latest() == first
        some_reads(again, again.hub.family_children(family(again, GUARDIAN_1_PNR))[0].child_id, 2)
        second = log_of(again).checkpoint_now()
        proof = log_of(again).consistency(first.size, second.size).proof
        assert verify_consistency(first.size, second.size, proof, first.root_hash, second.root_hash).ok
    finally:
        again.close()


def test_an_older_checkpoint_offered_to_the_record_is_refused_as_a_replay(rt: Runtime) -> None:
    log = log_of(rt)
    child_id = register_child(rt)
    old = log.checkpoint_now()
    some_reads(rt, child_id, 2)
    new = log.checkpoint_now()

    with pytest.raises(ReplayedCheckpointError, match=f"size {old.size} is older than the latest known, of size {new.size}"):
        log.store.accept(old.note)
    forked = sign_checkpoint(Checkpoint(log.origin, new.size, b"\x00" * 32), log.keys.signer())
    with pytest.raises(LogIntegrityError, match="two checkpoints of size"):
        log.store.accept(forked)
    assert log.store.accept(new.note) == new  # the latest again is no news, and no error
    assert log.latest() == new


def test_a_record_of_checkpoints_put_back_to_an_older_copy_is_refused_by_the_running_hub(
    sqlite_settings: Settings, clock: SettableClock
) -> None:
    rt = start(sqlite_settings, clock)
    try:
        log = log_of(rt)
        child_id = register_child(rt)
        log.checkpoint_now()
        record = sqlite_settings.data_dir / CHECKPOINTS_FILE
        older = record.read_bytes()
        some_reads(rt, child_id, 1)
        log.checkpoint_now()
        record.write_bytes(older)
        some_reads(rt, child_id, 1)

        with pytest.raises(ReplayedCheckpointError, match="an older copy was put back"):
            log.checkpoint_now()
    finally:
        rt.close()


def test_the_hub_will_not_sign_over_a_history_rewritten_in_the_database(
    store: tuple[Settings, EventTable], clock: SettableClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings, table = store
    rt = start(settings, clock)
    try:
        child_id = register_child(rt)
        some_reads(rt, child_id, 3)
        log_of(rt).checkpoint_now()
    finally:
        rt.close()
    table.change_state(table.positions()[2])

    again = start(settings, clock, CheckpointPolicy(every_facts=1))
    try:
        with pytest.raises(LogIntegrityError, match="the log no longer matches the checkpoint of size 4"):
            log_of(again).checkpoint_now()
        with caplog.at_level(logging.ERROR, logger="backa.transparency"):
            some_reads(again, child_id, 1)  # the command still succeeds; the checkpoint does not follow
        assert "no checkpoint signed: the log no longer matches" in caplog.text
        assert log_of(again).latest().size == 4  # type: ignore[union-attr]
    finally:
        again.close()


def test_the_tree_is_over_stored_bytes_so_facts_no_one_can_read_any_more_still_verify(
    sqlite_settings: Settings, clock: SettableClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """Erasure by key destruction leaves the ciphertext, and so every leaf, as it was."""

    class KeyedSealer:
        def __init__(self) -> None:
            self.keys: dict[bytes, bytes] = {}

        def seal(self, child_id: UUID, plaintext: bytes) -> bytes:
            key = self.keys.setdefault(child_id.bytes, hashlib.sha256(child_id.bytes).digest())
            pad = hashlib.sha256(key).digest() * (len(plaintext) // 32 + 1)
            return child_id.bytes + bytes(a ^ b for a, b in zip(plaintext, pad, strict=False))

        def open(self, sealed: bytes) -> bytes:
            key = self.keys[sealed[:16]]  # a destroyed key: KeyError
            pad = hashlib.sha256(key).digest() * (len(sealed) // 32 + 1)
            return bytes(a ^ b for a, b in zip(sealed[16:], pad, strict=False))

    sealer = KeyedSealer()
    rt = bootstrap(sqlite_settings, clock=clock, directory=directory(), sealer=sealer)
    try:
        child_id = register_child(rt)
        some_reads(rt, child_id, 2)
        signed = log_of(rt).checkpoint_now()
        sealer.keys.clear()  # the child's key destroyed
        with pytest.raises(KeyError):
            rt.hub.mapper.to_domain_event(rt.hub.recorder.select_notifications(1, 1)[0])
        proof = log_of(rt).inclusion(2, signed.size)
        assert verify_inclusion(proof.leaf_hash, proof.leaf_index, signed.size, proof.audit_path, signed.root_hash).ok
    finally:
        rt.close()
    from hub.cli import main

    assert main(["audit", "verify", "--data-dir", str(sqlite_settings.data_dir)]) == 0
    assert "the log verifies" in capsys.readouterr().err


# -- proofs over HTTP ----------------------------------------------------------------------


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(rt)) as c:
        yield c


def test_a_family_proves_an_entry_of_its_access_log_is_in_the_signed_log(rt: Runtime, client: TestClient[Any]) -> None:
    child_id = register_child(rt)
    teacher = as_staff(rt, "larare.ostra")
    assert client.get(f"/api/v1/children/{child_id}", params={"purpose": "check in"}, headers=teacher).status_code == 200
    guardian = as_guardian(rt, GUARDIAN_1_PNR)
    shown = client.get(f"/api/v1/children/{child_id}/access-log", headers=guardian).json()
    entry = next(e for e in shown if e["purpose"] == "check in")
    key = parse_verifier_key(client.get(f"{API}/key", headers=guardian).text.strip())

    answer = client.get(f"{API}/inclusion", params={"position": entry["position"]}, headers=guardian)

    assert answer.status_code == 200, answer.text
    proof = answer.json()
    checkpoint = verify_checkpoint(proof["checkpoint"], key, key.name)
    assert checkpoint.size == proof["tree_size"]
    leaf = leaf_hash(LeafEntry.from_json(proof["entry"]).encode())
    assert leaf == b64(proof["leaf_hash"])
    assert UUID(proof["entry"]["originator_id"]) == UUID(entry["event_id"])
    assert proof["entry"]["topic"] == "backa.v1.InformationAccessed"
    path = [b64(h) for h in proof["audit_path"]]
    assert verify_inclusion(leaf, proof["leaf_index"], checkpoint.size, path, checkpoint.root_hash).ok


def test_a_forged_inclusion_proof_does_not_verify_against_the_signed_checkpoint(rt: Runtime, client: TestClient[Any]) -> None:
    child_id = register_child(rt)
    some_reads(rt, child_id, 6)
    guardian = as_guardian(rt, GUARDIAN_1_PNR)
    position = client.get(f"/api/v1/children/{child_id}/access-log", headers=guardian).json()[2]["position"]
    proof = client.get(f"{API}/inclusion", params={"position": position}, headers=guardian).json()
    key = log_of(rt).verifier()
    checkpoint = verify_checkpoint(proof["checkpoint"], key, key.name)
    leaf, index, path = b64(proof["leaf_hash"]), proof["leaf_index"], [b64(h) for h in proof["audit_path"]]
    assert verify_inclusion(leaf, index, checkpoint.size, path, checkpoint.root_hash).ok

    other_entry = LeafEntry.from_json({**proof["entry"], "topic": "backa.v1.ChildRegistered"})
    forgeries = {
        "another leaf": (other_entry.leaf_hash(), index, checkpoint.size, path),
        "another index": (leaf, index + 1, checkpoint.size, path),
        "a changed path element": (leaf, index, checkpoint.size, [path[0][:-1] + bytes([path[0][-1] ^ 1]), *path[1:]]),
        "a path cut short": (leaf, index, checkpoint.size, path[:-1]),
        "a path made longer": (leaf, index, checkpoint.size, [*path, path[-1]]),
    }
    for name, (forged_leaf, i, size, p) in forgeries.items():
        assert not verify_inclusion(forged_leaf, i, size, p, checkpoint.root_hash).ok, name
    # A path alone need not pin the size, so the size is taken from the signed note, never
    # from the answer: a note whose size was changed no longer verifies.
    tampered_note = proof["checkpoint"].replace(f"\n{checkpoint.size}\n", f"\n{checkpoint.size + 1}\n")
    with pytest.raises(NoteError) as refused:
        verify_checkpoint(tampered_note, key, key.name)
    assert refused.value.reason is Rejection.BAD_SIGNATURE


def test_a_family_gets_no_proof_for_anything_but_its_own_childs_access_log(rt: Runtime, client: TestClient[Any]) -> None:
    """Another child's entry, a fact that is no read, and a position the log does not hold all
    get the one answer for a missing position; staff are refused whatever they ask."""
    mine = register_child(rt)
    theirs = rt.hub.register_child(
        staff("larare.ostra"), personnummer=OTHER_CHILD_PNR, given_name="Olle", family_name="Berg",
        guardians=[{"name": "Bo Berg", "personnummer": GUARDIAN_2_PNR, "has_custody": True}],
    )
    guardian, other = as_guardian(rt, GUARDIAN_1_PNR), as_guardian(rt, GUARDIAN_2_PNR)
    assert client.get(f"/api/v1/children/{theirs}", headers=other).status_code == 200
    assert client.get(f"/api/v1/children/{mine}", headers=guardian).status_code == 200
    their_entry = client.get(f"/api/v1/children/{theirs}/access-log", headers=other).json()[0]["position"]
    my_entry = client.get(f"/api/v1/children/{mine}/access-log", headers=guardian).json()[0]["position"]
    registration = 1

    refusals = [client.get(f"{API}/inclusion", params={"position": p}, headers=guardian) for p in (their_entry, registration, 10_000)]
    own = client.get(f"{API}/inclusion", params={"position": my_entry}, headers=guardian)

    assert [r.status_code for r in refusals] == [404, 404, 404]
    assert len({r.text for r in refusals}) == 1  # the same answer whatever lies at the position, even nothing
    assert own.status_code == 200
    auditor = as_staff(rt, "granskare.ystad")
    assert client.get(f"{API}/inclusion", params={"position": their_entry}, headers=auditor).status_code == 200
    assert client.get(f"{API}/inclusion", params={"position": registration}, headers=auditor).json()["entry"]["topic"] == "backa.v1.ChildRegistered"
    assert client.get(f"{API}/inclusion", params={"position": 10_000}, headers=auditor).status_code == 404
    assert client.get(f"{API}/inclusion", params={"position": my_entry}, headers=as_staff(rt, "rektor.ostra")).status_code == 403
    assert "Olle" not in "".join(r.text for r in refusals) and CHILD_PNR not in own.text


def test_an_auditor_proves_two_kept_checkpoints_consistent_and_a_forged_proof_fails(rt: Runtime, client: TestClient[Any]) -> None:
    child_id = register_child(rt)
    auditor = as_staff(rt, "granskare.ystad")
    kept = client.get(f"{API}/checkpoint", headers=auditor)
    assert kept.status_code == 200 and kept.headers["content-type"].startswith("text/plain")
    some_reads(rt, child_id, 5)
    later = log_of(rt).checkpoint_now()
    key = parse_verifier_key(client.get(f"{API}/key", headers=auditor).text.strip())
    first = verify_checkpoint(kept.text, key, key.name)

    answer = client.get(f"{API}/consistency", params={"first": first.size}, headers=auditor)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    second = verify_checkpoint(body["checkpoint"], key, key.name)
    assert (body["first"], body["second"], second.size) == (first.size, later.size, later.size)
    proof = [b64(h) for h in body["proof"]]
    assert verify_consistency(first.size, second.size, proof, first.root_hash, second.root_hash).ok
    assert not verify_consistency(first.size, second.size, proof[:-1], first.root_hash, second.root_hash).ok
    assert not verify_consistency(first.size, second.size, [bytes(32), *proof[1:]], first.root_hash, second.root_hash).ok
    assert not verify_consistency(first.size, second.size, proof, bytes(32), second.root_hash).ok
    by_size = client.get(f"{API}/checkpoint", params={"size": first.size}, headers=auditor)
    assert by_size.text == kept.text
    assert client.get(f"{API}/checkpoint", params={"size": first.size + 1}, headers=auditor).status_code == 404
    too_far = client.get(f"{API}/consistency", params={"first": later.size + 1}, headers=auditor)
    assert too_far.status_code == 422 and too_far.json()["errors"][0]["field"] == "first"


def test_the_transparency_endpoints_need_a_token_and_are_published(rt: Runtime, client: TestClient[Any]) -> None:
    for path in ("checkpoint", "key", "inclusion?position=1", "consistency?first=0"):
        assert client.get(f"{API}/{path}").status_code == 401
    paths = client.get("/api/v1/schema/openapi.json").json()["paths"]
    assert {f"{API}/checkpoint", f"{API}/key", f"{API}/inclusion", f"{API}/consistency"} <= set(paths)



# -- proofs stay in their cooperation area --------------------------------------------------


def register_in_other_area(rt: Runtime) -> UUID:
    """A child of Lidingö: another cooperation area on the same hub, the same log."""
    return rt.hub.register_child(  # type: ignore[no-any-return]
        staff("rektor.lidingo", OTHER_TENANT), personnummer=OTHER_CHILD_PNR, given_name="Olle", family_name="Berg",
        guardians=[{"name": "Bo Berg", "personnummer": GUARDIAN_2_PNR, "has_custody": True}],
    )


def test_an_auditor_gets_no_proof_of_another_cooperation_areas_facts_and_cannot_tell_them_from_none(
    rt: Runtime, client: TestClient[Any]
) -> None:
    """Issue 10, case 3: one log serves every area, so a proof must not cross them."""
    mine = register_child(rt)
    theirs = register_in_other_area(rt)
    their_registration = rt.hub.log_length()
    rt.hub.read_child(staff("rektor.lidingo", OTHER_TENANT), theirs, purpose="check in")
    their_read = rt.hub.log_length()
    rt.hub.family_access_log(family(rt, GUARDIAN_1_PNR), mine)  # type: ignore[arg-type]
    my_read = rt.hub.log_length()
    auditor = as_staff(rt, "granskare.ystad")
    before = rt.hub.log_length()

    answers = {p: client.get(f"{API}/inclusion", params={"position": p}, headers=auditor) for p in (their_registration, their_read)}
    absent = client.get(f"{API}/inclusion", params={"position": 10_000}, headers=auditor)
    own = client.get(f"{API}/inclusion", params={"position": my_read}, headers=auditor)

    assert own.status_code == 200 and own.json()["entry"]["topic"] == "backa.v1.InformationAccessed"
    assert absent.status_code == 404
    for position, answer in answers.items():
        assert (answer.status_code, answer.text) == (absent.status_code, absent.text), position
        assert str(theirs) not in answer.text
    pinned = client.get(f"{API}/inclusion", params={"position": their_read, "tree_size": log_of(rt).checkpoint_now().size}, headers=auditor)
    assert (pinned.status_code, pinned.text) == (absent.status_code, absent.text)
    their_auditor = bearer(rt.demo_issuer.staff_token(OTHER_TENANT, "granskare.lidingo", None, ["auditor"]))  # type: ignore[union-attr]
    assert client.get(f"{API}/inclusion", params={"position": their_read}, headers=their_auditor).json()["entry"]["originator_id"]
    mine_to_them = client.get(f"{API}/inclusion", params={"position": my_read}, headers=their_auditor)
    assert (mine_to_them.status_code, mine_to_them.text) == (absent.status_code, absent.text)
    assert rt.hub.log_length() == before  # a refusal appends nothing


def test_a_family_signed_in_to_another_area_gets_no_proof_of_this_areas_entries(rt: Runtime, client: TestClient[Any]) -> None:
    """Bo Lind is a guardian in both areas; signed in to Lidingö he proves Lidingö's entries only."""
    alva = register_child(rt)
    olle = register_in_other_area(rt)
    in_ystad, in_lidingo = as_guardian(rt, GUARDIAN_2_PNR), bearer(rt.demo_issuer.family_token(OTHER_TENANT, "guardian", GUARDIAN_2_PNR))  # type: ignore[union-attr]
    assert client.get(f"/api/v1/children/{alva}", headers=in_ystad).status_code == 200
    assert client.get(f"/api/v1/children/{olle}", headers=in_lidingo).status_code == 200
    alva_entry = client.get(f"/api/v1/children/{alva}/access-log", headers=in_ystad).json()[0]["position"]
    olle_entry = client.get(f"/api/v1/children/{olle}/access-log", headers=in_lidingo).json()[0]["position"]

    crossed = client.get(f"{API}/inclusion", params={"position": alva_entry}, headers=in_lidingo)
    absent = client.get(f"{API}/inclusion", params={"position": 10_000}, headers=in_lidingo)

    assert (crossed.status_code, crossed.text) == (absent.status_code, absent.text) == (404, absent.text)
    assert client.get(f"{API}/inclusion", params={"position": olle_entry}, headers=in_lidingo).status_code == 200
    assert client.get(f"{API}/inclusion", params={"position": alva_entry}, headers=in_ystad).status_code == 200
    assert client.get(f"{API}/inclusion", params={"position": olle_entry}, headers=in_ystad).status_code == 404


def test_an_erased_childs_facts_stay_provable_to_their_own_area_only(rt: Runtime, client: TestClient[Any]) -> None:
    """No key opens an erased child's facts any more; their area is the recorded erasure's."""
    child = register_child(rt)
    some_reads(rt, child, 1)
    read = rt.hub.log_length()
    rt.hub.erase_child(staff("admin.ystad"), child, reason="Registrerad av misstag")  # type: ignore[arg-type]
    assert isinstance(rt.hub.mapper.to_domain_event(rt.hub.recorder.select_notifications(1, 1)[0]).fact, ErasedFact)
    ours = as_staff(rt, "granskare.ystad")
    theirs = bearer(rt.demo_issuer.staff_token(OTHER_TENANT, "granskare.lidingo", None, ["auditor"]))  # type: ignore[union-attr]
    absent = client.get(f"{API}/inclusion", params={"position": 10_000}, headers=theirs)

    for position, topic in ((1, "backa.v1.ChildRegistered"), (read, "backa.v1.InformationAccessed")):
        proven = client.get(f"{API}/inclusion", params={"position": position}, headers=ours)
        assert proven.status_code == 200 and proven.json()["entry"]["topic"] == topic
        refused = client.get(f"{API}/inclusion", params={"position": position}, headers=theirs)
        assert (refused.status_code, refused.text) == (absent.status_code, absent.text)


def test_asking_for_a_proof_leaves_the_same_trace_whatever_lies_at_the_position(rt: Runtime, client: TestClient[Any]) -> None:
    """A family's proof request records the same reads of their own child's access log
    whether the position is a read of their child kept from them, another fact or nothing,
    so their access log does not tell them which positions concern their child."""
    child = register_child(rt)
    from hub.errors import ChildNotFoundError

    with pytest.raises(ChildNotFoundError):
        rt.hub.read_child(staff("bup.ystad"), child, purpose="utan grund")  # type: ignore[arg-type]
    denied = rt.hub.log_length()  # a bare denied attempt: never shown to the family
    guardian = as_guardian(rt, GUARDIAN_1_PNR)
    assert denied not in {e["position"] for e in client.get(f"/api/v1/children/{child}/access-log", headers=guardian).json()}

    traces, answers = [], []
    for position in (denied, 1, 10_000):
        before = rt.hub.log_length()
        answers.append(client.get(f"{API}/inclusion", params={"position": position}, headers=guardian))
        traces.append(rt.hub.log_length() - before)

    assert len(set(traces)) == 1, traces
    assert {(a.status_code, a.text) for a in answers} == {(answers[-1].status_code, answers[-1].text)}
    assert answers[-1].status_code == 404
