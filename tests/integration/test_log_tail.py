"""The log's tail: checkpoints signed every few seconds, kept by a witness outside the data
folder, so that cutting the newest facts (and putting back the data folder's older record
of checkpoints to match) is caught by ``backa audit verify`` at the first missing position.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from litestar.testing import TestClient

from hub.application.proofs import log_status
from hub.cli import main
from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.checkpoints import CheckpointConfigError
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from hub.tlog.errors import LogIntegrityError
from hub.tlog.service import CheckpointPolicy
from hub.tlog.store import CHECKPOINTS_FILE, KEY_FILE, LEAVES_FILE
from hub.tlog.verify import Mismatch
from hub.tlog.witness import WITNESS_LOST, WITNESSED_FILE, FileWitness, WitnessLostError, read_pinned_log_key
from tests.conftest import family, postgres_url, register_child
from tests.factories import GUARDIAN_1_PNR, START, TENANT, directory, staff
from tests.integration.test_audit_verify_tampering import EventTable

FIRST = 12
"""Facts when the data folder's record was copied: the registration and 11 reads."""
MORE = 5


@dataclass
class Witnessed:
    settings: Settings
    table: EventTable
    witness: Path
    clock: SettableClock

    def start(self, policy: CheckpointPolicy | None = None) -> Runtime:
        return bootstrap(self.settings, clock=self.clock, directory=directory(), checkpoint_policy=policy)

    def reads(self, rt: Runtime, n: int) -> None:
        guardian = family(rt, GUARDIAN_1_PNR)
        child_id = rt.hub.family_children(guardian)[0].child_id
        for _ in range(n):
            rt.hub.family_access_log(guardian, child_id)


@pytest.fixture(params=["sqlite", "postgres"])
def witnessed(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Witnessed]:
    """A hub whose key and witness live outside its data folder."""
    common = {
        "data_dir": tmp_path / "data",
        "demo_mode": True,
        "checkpoint_key_file": tmp_path / "keys" / "transparency.key",
        "witness_dir": tmp_path / "witness",
    }
    schema = None
    if request.param == "postgres":
        schema = request.getfixturevalue("pg_schema")
        settings = Settings(store="postgres", database_url=postgres_url(schema), **common)  # type: ignore[arg-type]
        monkeypatch.setenv("BACKA_DATABASE_URL", postgres_url(schema))
    else:
        settings = Settings(store="sqlite", **common)  # type: ignore[arg-type]
        monkeypatch.delenv("BACKA_DATABASE_URL", raising=False)
    for name in ("BACKA_STORE", "BACKA_WITNESS_DIR", "BACKA_CHECKPOINT_KEY_FILE", "BACKA_DEMO_MODE"):
        monkeypatch.delenv(name, raising=False)
    yield Witnessed(settings, EventTable(settings, schema), tmp_path / "witness", SettableClock(START))


def verify(w: Witnessed, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["audit", "verify", "--data-dir", str(w.settings.data_dir), "--witness", str(w.witness)])
    return code, capsys.readouterr().err


def test_cutting_the_tail_after_the_last_witnessed_checkpoint_is_caught_at_the_first_missing_position(
    witnessed: Witnessed, capsys: pytest.CaptureFixture[str]
) -> None:
    data = witnessed.settings.data_dir
    rt = witnessed.start()
    try:
        register_child(rt)
        witnessed.reads(rt, FIRST - 1)
        assert rt.transparency is not None and rt.transparency.checkpoint_now().size == FIRST
        older = {name: (data / name).read_bytes() for name in (CHECKPOINTS_FILE, LEAVES_FILE)}
        witnessed.reads(rt, MORE)
        assert rt.transparency.checkpoint_now().size == FIRST + MORE
    finally:
        rt.close()
    assert not (data / KEY_FILE).exists(), "the signing key was kept where the settings said, not beside the log"
    positions = witnessed.table.positions()

    # Whoever can rewrite the database and the data folder deletes the newest facts and puts
    # back the record of checkpoints and leaf hashes as it stood, so what is left agrees.
    witnessed.table.delete(*positions[FIRST:])
    for name, content in older.items():
        (data / name).write_bytes(content)

    code, said = verify(witnessed, capsys)

    assert code == 1, said
    assert f"the witness holds a checkpoint of size {FIRST + MORE} but the data folder's record ends at size {FIRST}" in said
    assert f"the log was cut short: it holds {FIRST} facts, the checkpoint of size {FIRST + MORE} signed more" in said
    assert f"first difference at log position {positions[FIRST]} (leaf {FIRST}): the log ends there" in said
    assert f"first bad log position {positions[FIRST]}" in said


def test_the_auditors_page_checks_the_log_against_the_witness_not_only_the_data_folder(witnessed: Witnessed) -> None:
    data = witnessed.settings.data_dir
    rt = witnessed.start()
    try:
        register_child(rt)
        witnessed.reads(rt, 3)
        assert rt.transparency is not None
        rt.transparency.checkpoint_now()
        older = {name: (data / name).read_bytes() for name in (CHECKPOINTS_FILE, LEAVES_FILE)}
        witnessed.reads(rt, 3)
        rt.transparency.checkpoint_now()
    finally:
        rt.close()
    witnessed.table.delete(*witnessed.table.positions()[4:])
    for name, content in older.items():
        (data / name).write_bytes(content)

    rt = witnessed.start()
    try:
        status = log_status(rt.hub, staff("granskare.ystad"))
    finally:
        rt.close()

    assert status.latest is not None and status.latest.size == 7
    assert status.verdict is not None and status.verdict.mismatch is Mismatch.SHORT
    assert status.verdict.stored == 4


def test_an_untouched_witnessed_log_verifies_against_the_witness(
    witnessed: Witnessed, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = witnessed.start()
    try:
        register_child(rt)
        witnessed.reads(rt, 3)
        assert rt.transparency is not None
        rt.transparency.checkpoint_now()
    finally:
        rt.close()

    code, said = verify(witnessed, capsys)

    assert code == 0, said
    assert "cosigned 1 checkpoints, the newest of size 4" in said


def test_a_changed_row_is_named_from_the_checkpoints_alone_when_the_leaf_record_is_gone(
    witnessed: Witnessed, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = witnessed.start()
    try:
        assert rt.transparency is not None
        register_child(rt)
        for _ in range(6):  # a checkpoint after every fact, as a hub written to slowly signs
            rt.transparency.checkpoint_now()
            witnessed.reads(rt, 1)
        rt.transparency.checkpoint_now()
    finally:
        rt.close()
    positions = witnessed.table.positions()
    witnessed.table.change_state(positions[4])
    (witnessed.settings.data_dir / LEAVES_FILE).unlink()

    code, said = verify(witnessed, capsys)

    assert code == 1, said
    assert f"first difference at log position {positions[4]} (leaf 4): the stored fact there is not the one that was signed" in said
    assert f"first bad log position {positions[4]}" in said


def test_the_hub_refuses_to_sign_over_a_tail_cut_below_what_the_witness_holds(witnessed: Witnessed) -> None:
    rt = witnessed.start()
    try:
        register_child(rt)
        witnessed.reads(rt, 4)
        assert rt.transparency is not None
        rt.transparency.checkpoint_now()
    finally:
        rt.close()
    data = witnessed.settings.data_dir
    witnessed.table.delete(*witnessed.table.positions()[3:])
    (data / CHECKPOINTS_FILE).unlink()
    (data / LEAVES_FILE).unlink()

    rt = witnessed.start()
    try:
        assert rt.transparency is not None
        with pytest.raises(LogIntegrityError, match="facts were removed"):
            rt.transparency.checkpoint_now()
    finally:
        rt.close()
    assert len((witnessed.witness / WITNESSED_FILE).read_bytes().splitlines()) == 1


def _covered_within(rt: Runtime, size: int, seconds: float) -> bool:
    assert rt.transparency is not None and rt.transparency.witness is not None
    witness: FileWitness = rt.transparency.witness
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = witness.latest(rt.transparency.verifier()) if read_pinned_log_key(witness.folder) else None
        if found is not None and found.size >= size:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize(("interval", "signed"), [(0.3, True), (3600.0, False)])
def test_checkpoint_seconds_decides_how_soon_the_last_facts_are_witnessed_without_another_write(
    tmp_path: Path, interval: float, signed: bool
) -> None:
    settings = Settings(
        store="sqlite", data_dir=tmp_path / "data", demo_mode=True, witness_dir=tmp_path / "witness",
        checkpoint_seconds=interval,
    )
    rt = bootstrap(settings, clock=SettableClock(START), directory=directory())
    try:
        register_child(rt)  # one fact, then no more writes
        assert _covered_within(rt, 1, 3.0) is signed
    finally:
        rt.close()


def test_outside_demo_mode_the_hub_refuses_to_start_with_the_checkpoint_key_beside_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    kek = secrets.token_hex(32)
    with pytest.raises(CheckpointConfigError, match="inside the data folder, beside the log it signs"):
        bootstrap(Settings(data_dir=data, kek=kek), directory=directory())
    with pytest.raises(CheckpointConfigError, match="inside the data folder, beside the log it signs"):
        bootstrap(Settings(data_dir=data, kek=kek, checkpoint_key_file=data / "keys" / "log.key"), directory=directory())
    assert not (data / KEY_FILE).exists()

    for name in ("BACKA_DEMO_MODE", "BACKA_CHECKPOINT_KEY_FILE", "BACKA_WITNESS_DIR", "BACKA_DATABASE_URL", "BACKA_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BACKA_KEK", kek)
    assert main(["serve", "--port", "1", "--data-dir", str(data)]) == 2
    assert "BACKA_CHECKPOINT_KEY_FILE" in capsys.readouterr().err

    outside = tmp_path / "keys" / "transparency.key"
    (tmp_path / "witness").mkdir()
    rt = bootstrap(
        Settings(data_dir=data, kek=kek, checkpoint_key_file=outside, witness_dir=tmp_path / "witness"), directory=directory()
    )
    try:
        assert rt.transparency is not None
        rt.transparency.checkpoint_now()
    finally:
        rt.close()
    assert outside.exists() and not (data / KEY_FILE).exists()


def test_outside_demo_mode_a_witness_inside_the_data_folder_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(
        data_dir=data, kek=secrets.token_hex(32), checkpoint_key_file=tmp_path / "k" / "transparency.key",
        witness_dir=data / "witness",
    )
    with pytest.raises(CheckpointConfigError, match="the witness folder"):
        bootstrap(settings, directory=directory())


# -- no hub outside demo mode without a witness ----------------------------------------------


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BACKA_DEMO_MODE", "BACKA_CHECKPOINT_KEY_FILE", "BACKA_WITNESS_DIR", "BACKA_DATABASE_URL", "BACKA_STORE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_outside_demo_mode_a_hub_on_a_persistent_store_refuses_to_start_without_a_witness(
    store: str, tmp_path: Path, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _clean_env(monkeypatch)
    data, key, kek = tmp_path / "data", tmp_path / "keys" / "transparency.key", secrets.token_hex(32)
    url = postgres_url(request.getfixturevalue("pg_schema")) if store == "postgres" else None
    settings = Settings(store=store, database_url=url, data_dir=data, kek=kek, checkpoint_key_file=key)  # type: ignore[arg-type]

    with pytest.raises(CheckpointConfigError, match="no witness.*BACKA_WITNESS_DIR"):
        bootstrap(settings, directory=directory())
    assert not key.exists(), "nothing was signed by a hub that did not start"

    monkeypatch.setenv("BACKA_KEK", kek)
    monkeypatch.setenv("BACKA_STORE", store)
    monkeypatch.setenv("BACKA_CHECKPOINT_KEY_FILE", str(key))
    if url is not None:
        monkeypatch.setenv("BACKA_DATABASE_URL", url)
    assert main(["serve", "--port", "1", "--data-dir", str(data)]) == 2
    said = capsys.readouterr().err
    assert "no witness" in said and "BACKA_WITNESS_DIR" in said


def test_the_memory_store_keeps_nothing_to_cut_and_starts_without_a_witness(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_env(monkeypatch)
    rt = bootstrap(Settings(store="memory", kek=secrets.token_hex(32)), directory=directory())
    rt.close()


def test_outside_demo_mode_a_witness_folder_that_does_not_exist_is_refused_and_not_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _clean_env(monkeypatch)
    data, witness, kek = tmp_path / "data", tmp_path / "volume" / "witness", secrets.token_hex(32)
    settings = Settings(data_dir=data, kek=kek, checkpoint_key_file=tmp_path / "keys" / "transparency.key", witness_dir=witness)

    with pytest.raises(CheckpointConfigError, match="does not exist"):
        bootstrap(settings, directory=directory())
    monkeypatch.setenv("BACKA_KEK", kek)
    monkeypatch.setenv("BACKA_CHECKPOINT_KEY_FILE", str(tmp_path / "keys" / "transparency.key"))
    assert main(["serve", "--port", "1", "--data-dir", str(data), "--witness", str(witness)]) == 2
    assert f"the witness folder ({witness}) does not exist" in capsys.readouterr().err
    assert not witness.exists() and not witness.parent.exists()

    demo = bootstrap(Settings(data_dir=tmp_path / "demo", demo_mode=True, witness_dir=witness), directory=directory())
    try:
        register_child(demo)
        assert demo.transparency is not None and demo.transparency.checkpoint_now().size == 1
    finally:
        demo.close()
    assert (witness / WITNESSED_FILE).exists(), "in demo mode the witness makes its folder"


def test_a_brand_new_hub_starts_its_witness_with_the_first_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_env(monkeypatch)
    witness = tmp_path / "witness"
    witness.mkdir()
    settings = Settings(
        data_dir=tmp_path / "data", kek=secrets.token_hex(32), checkpoint_key_file=tmp_path / "keys" / "transparency.key",
        witness_dir=witness,
    )
    rt = bootstrap(settings, directory=directory())
    try:
        register_child(rt)
        assert rt.transparency is not None and rt.transparency.checkpoint_now().size == 1
        assert rt.transparency.witness is not None
        found = rt.transparency.witness.latest(rt.transparency.verifier())
    finally:
        rt.close()
    assert found is not None and found.size == 1
    assert len((witness / WITNESSED_FILE).read_bytes().splitlines()) == 1


# -- a witness that lost its record --------------------------------------------------------


def _lose(witness: Path, how: str) -> None:
    if how == "deleted":
        (witness / WITNESSED_FILE).unlink()
    elif how == "emptied":
        (witness / WITNESSED_FILE).write_bytes(b"")
    else:  # an empty mount point where the volume was
        shutil.rmtree(witness)
        witness.mkdir()


def _witnessed_once(w: Witnessed) -> int:
    rt = w.start()
    try:
        register_child(rt)
        w.reads(rt, 3)
        assert rt.transparency is not None
        return rt.transparency.checkpoint_now().size
    finally:
        rt.close()


def adopt(w: Witnessed, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["audit", "witness", "adopt", "--data-dir", str(w.settings.data_dir), "--witness", str(w.witness)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("how", ["deleted", "emptied", "unmounted"])
def test_a_witness_that_lost_its_record_is_handed_no_checkpoint_until_the_log_is_adopted(
    witnessed: Witnessed, how: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    size = _witnessed_once(witnessed)
    data = witnessed.settings.data_dir
    record = (data / CHECKPOINTS_FILE).read_bytes()
    _lose(witnessed.witness, how)

    with caplog.at_level(logging.ERROR, logger="backa.transparency"):
        rt = witnessed.start(CheckpointPolicy(every_facts=1))
        try:
            assert rt.transparency is not None
            witnessed.reads(rt, 2)  # the background signer is due after every fact, and refuses each time
            with pytest.raises(WitnessLostError):
                rt.transparency.checkpoint_now()
            status = log_status(rt.hub, staff("granskare.ystad"))
            assert rt.demo_issuer is not None
            auditor = rt.demo_issuer.staff_token(TENANT, "granskare.ystad", None, ["auditor"])
            with TestClient(create_app(rt)) as api:  # a proof past the last checkpoint needs a new one
                answer = api.get(
                    "/api/v1/transparency/inclusion", params={"position": rt.hub.log_length()},
                    headers={"Authorization": f"Bearer {auditor}"},
                )
            assert answer.status_code == 503 and answer.json()["type"].endswith("witness-lost"), answer.text
        finally:
            rt.close()
    refusals = [r.getMessage() for r in caplog.records if r.name == "backa.transparency"]
    assert len(refusals) >= 2 and all(WITNESS_LOST in m for m in refusals), refusals  # at start, and when due
    assert not any("Alva" in m or "Lind" in m or GUARDIAN_1_PNR in m for m in refusals)
    assert status.problem == WITNESS_LOST
    assert (data / CHECKPOINTS_FILE).read_bytes() == record, "nothing was signed"
    assert not (witnessed.witness / WITNESSED_FILE).exists() or not (witnessed.witness / WITNESSED_FILE).read_bytes()

    code, said = verify(witnessed, capsys)
    assert code == 1, said
    assert "the witness has lost its record" in said

    code, said = adopt(witnessed, capsys)
    assert code == 0, said
    assert f"starts again from the checkpoint of size {size}" in said
    code, said = adopt(witnessed, capsys)
    assert code == 2 and "nothing to adopt" in said

    rt = witnessed.start()
    try:
        assert rt.transparency is not None
        assert rt.transparency.checkpoint_now().size == size + 2
    finally:
        rt.close()
    code, said = verify(witnessed, capsys)
    assert code == 0, said
    assert f"cosigned 2 checkpoints, the newest of size {size + 2}" in said


def test_a_witness_is_not_adopted_over_a_log_that_does_not_verify(
    witnessed: Witnessed, capsys: pytest.CaptureFixture[str]
) -> None:
    _witnessed_once(witnessed)
    _lose(witnessed.witness, "deleted")
    witnessed.table.delete(*witnessed.table.positions()[2:])

    code, said = adopt(witnessed, capsys)

    assert code == 1, said
    assert "the log was cut short" in said and "the witness was not started" in said
    assert not (witnessed.witness / WITNESSED_FILE).exists()
    rt = witnessed.start()
    try:
        assert rt.transparency is not None
        with pytest.raises(WitnessLostError):
            rt.transparency.checkpoint_now()
    finally:
        rt.close()
