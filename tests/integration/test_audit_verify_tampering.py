"""``backa audit verify`` against a log changed behind the hub's back, in SQLite and in PostgreSQL.

Someone with access to the database (not to the hub's data folder, where the signing key
and the record of signed checkpoints live) changes, deletes, reorders or cuts rows of the
event table after a checkpoint was signed. The audit must fail and name the first log
position that differs; an untouched log, and one that only grew, must verify.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from hub.cli import main
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from hub.tlog.checkpoint import Checkpoint, NoteSigner, parse_signer_key, sign_checkpoint
from hub.tlog.store import CHECKPOINTS_FILE, KEY_FILE, LEAVES_FILE
from tests.conftest import POSTGRES_URL, family, postgres_url, register_child
from tests.factories import GUARDIAN_1_PNR, START, directory

READS = 11
"""Facts in the signed log: the registration and this many reads of the child's access log."""


class EventTable:
    """The stored events, reached around the hub the way an intruder with database access would."""

    def __init__(self, settings: Settings, schema: str | None) -> None:
        self.schema = schema
        self.sqlite_path = settings.data_dir / "events.sqlite"

    def _run(self, statements: list[tuple[str, tuple[Any, ...]]]) -> list[tuple[Any, ...]]:
        if self.schema is None:
            import sqlite3

            db = sqlite3.connect(self.sqlite_path)
            try:
                rows: list[tuple[Any, ...]] = []
                for statement, params in statements:
                    text = statement.format(table="stored_events", pos="rowid")
                    rows = db.execute(text, params).fetchall()
                db.commit()
                return rows
            finally:
                db.close()
        with psycopg.connect(POSTGRES_URL, autocommit=False) as db:
            rows = []
            for statement, params in statements:
                text = statement.replace("?", "%s").format(
                    table=sql.Identifier(self.schema, "backa_events").as_string(db), pos="notification_id"
                )
                cur = db.execute(text, params)  # type: ignore[arg-type]
                rows = cur.fetchall() if cur.description else []
            db.commit()
            return rows

    def rows(self) -> list[tuple[int, str, int, str, bytes]]:
        """(position, originator id, version, topic, state) in log order, as the database holds them."""
        found = self._run([("SELECT {pos}, originator_id, originator_version, topic, state FROM {table} ORDER BY {pos}", ())])
        return [(int(p), str(o), int(v), str(t), bytes(s)) for p, o, v, t, s in found]

    def positions(self) -> list[int]:
        return [r[0] for r in self.rows()]

    def change_state(self, position: int) -> None:
        """Flip one bit of the stored fact, as it is stored (sealed to the child's key)."""
        state = bytes(next(r[4] for r in self.rows() if r[0] == position))
        altered = state[:-1] + bytes([state[-1] ^ 0x01])
        self._run([("UPDATE {table} SET state = ? WHERE {pos} = ?", (altered, position))])

    def change_column(self, position: int, column: str, value: object) -> None:
        """Rewrite one column of one row, in whatever type the database lets it hold."""
        self._run([(f"UPDATE {{table}} SET {column} = ? WHERE {{pos}} = ?", (value, position))])

    def delete(self, *positions: int) -> None:
        self._run([("DELETE FROM {table} WHERE {pos} = ?", (p,)) for p in positions])

    def swap(self, a: int, b: int) -> None:
        """Exchange the log positions of two rows: the same facts, in another order."""
        self._run(
            [
                ("UPDATE {table} SET {pos} = ? WHERE {pos} = ?", (-1, a)),
                ("UPDATE {table} SET {pos} = ? WHERE {pos} = ?", (a, b)),
                ("UPDATE {table} SET {pos} = ? WHERE {pos} = ?", (b, -1)),
            ]
        )


@dataclass
class SignedHub:
    settings: Settings
    table: EventTable
    clock: SettableClock

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def start(self) -> Runtime:
        return bootstrap(self.settings, clock=self.clock, directory=directory())

    def add_reads(self, n: int) -> None:
        """The hub started again and the guardian reading the access log ``n`` more times."""
        rt = self.start()
        try:
            guardian = family(rt, GUARDIAN_1_PNR)
            child_id = rt.hub.family_children(guardian)[0].child_id
            for _ in range(n):
                rt.hub.family_access_log(guardian, child_id)
        finally:
            rt.close()


@pytest.fixture(params=["sqlite", "postgres"])
def signed(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SignedHub]:
    """A hub whose log of 12 facts was signed in a checkpoint, then shut down."""
    schema = None
    if request.param == "postgres":
        schema = request.getfixturevalue("pg_schema")
        settings = Settings(store="postgres", database_url=postgres_url(schema), data_dir=tmp_path / "data", demo_mode=True)
        monkeypatch.setenv("BACKA_DATABASE_URL", postgres_url(schema))  # what `backa audit` reads
    else:
        settings = Settings(store="sqlite", data_dir=tmp_path / "data", demo_mode=True)
        monkeypatch.delenv("BACKA_DATABASE_URL", raising=False)
    monkeypatch.delenv("BACKA_STORE", raising=False)
    clock = SettableClock(START)
    rt = bootstrap(settings, clock=clock, directory=directory())
    try:
        child_id = register_child(rt)
        guardian = family(rt, GUARDIAN_1_PNR)
        for _ in range(READS):
            rt.hub.family_access_log(guardian, child_id)  # type: ignore[arg-type]
        assert rt.transparency is not None
        assert rt.transparency.checkpoint_now().size == READS + 1
    finally:
        rt.close()
    yield SignedHub(settings, EventTable(settings, schema), clock)


def verify(hub: SignedHub, capsys: pytest.CaptureFixture[str], *kept: Path) -> tuple[int, str]:
    args = ["audit", "verify", "--data-dir", str(hub.data_dir)]
    for path in kept:
        args += ["--checkpoint", str(path)]
    code = main(args)
    return code, capsys.readouterr().err


def checkpoint(hub: SignedHub, capsys: pytest.CaptureFixture[str], out: Path) -> str:
    assert main(["audit", "checkpoint", "--data-dir", str(hub.data_dir), "--out", str(out)]) == 0
    capsys.readouterr()
    return out.read_text(encoding="utf-8")


def test_an_untouched_log_verifies(signed: SignedHub, capsys: pytest.CaptureFixture[str]) -> None:
    code, said = verify(signed, capsys)

    assert code == 0, said
    assert "the log verifies" in said
    assert f"matches the latest signed checkpoint (size {READS + 1}" in said


@pytest.mark.parametrize(
    ("tamper", "first_bad"),
    [
        pytest.param(lambda t, p: t.change_state(p[6]), 6, id="a row's state updated"),
        pytest.param(lambda t, p: t.delete(p[4]), 4, id="a row deleted"),
        pytest.param(lambda t, p: t.swap(p[3], p[8]), 3, id="two rows reordered"),
    ],
)
def test_a_row_changed_in_the_database_fails_the_audit_at_its_position(
    signed: SignedHub, capsys: pytest.CaptureFixture[str], tamper: Any, first_bad: int
) -> None:
    positions = signed.table.positions()
    tamper(signed.table, positions)

    code, said = verify(signed, capsys)

    assert code == 1, said
    assert f"first difference at log position {positions[first_bad]} (leaf {first_bad})" in said
    assert f"first bad log position {positions[first_bad]}" in said


@pytest.mark.parametrize(
    ("column", "value", "typed_column"),
    [
        pytest.param("topic", "contracts.events:ConsentGiven", False, id="the event type renamed"),
        pytest.param("topic", b"\xffcontracts", False, id="the event type stored as bytes"),
        pytest.param("topic", 7, False, id="the event type stored as a number"),
        pytest.param("originator_version", "first", True, id="the version stored as text"),
        pytest.param("originator_id", None, True, id="the child's id emptied"),
    ],
)
def test_a_row_whose_columns_were_rewritten_names_its_position_not_an_unreachable_store(
    signed: SignedHub, capsys: pytest.CaptureFixture[str], column: str, value: object, typed_column: bool
) -> None:
    positions = signed.table.positions()
    if typed_column and signed.table.schema is not None:
        with pytest.raises(psycopg.Error):  # PostgreSQL holds the column's type: this rewrite cannot happen there
            signed.table.change_column(positions[5], column, value)
        column, value = "topic", "contracts.events:Altered"  # what can: the event type rewritten as other text
    signed.table.change_column(positions[5], column, value)

    code, said = verify(signed, capsys)

    assert code == 1, said
    assert "cannot be reached" not in said
    assert f"log position {positions[5]}" in said
    assert f"first bad log position {positions[5]}" in said


def test_a_change_that_keeps_the_row_count_and_later_rows_is_still_found(
    signed: SignedHub, capsys: pytest.CaptureFixture[str]
) -> None:
    positions = signed.table.positions()
    signed.table.change_state(positions[0])
    signed.table.change_state(positions[-1])

    code, said = verify(signed, capsys)

    assert code == 1
    assert f"first difference at log position {positions[0]} (leaf 0)" in said


def test_a_log_cut_short_is_detected_and_the_first_missing_position_named(
    signed: SignedHub, capsys: pytest.CaptureFixture[str]
) -> None:
    positions = signed.table.positions()
    signed.table.delete(*positions[-3:])

    code, said = verify(signed, capsys)

    assert code == 1
    assert f"it holds {READS + 1 - 3} facts, the checkpoint of size {READS + 1} signed more" in said
    assert f"first difference at log position {positions[-3]} (leaf {READS + 1 - 3}): the log ends there" in said


def test_facts_added_after_the_checkpoint_leave_the_log_verifiable(
    signed: SignedHub, capsys: pytest.CaptureFixture[str]
) -> None:
    signed.add_reads(3)

    code, said = verify(signed, capsys)

    assert code == 0, said
    assert f"the log holds {READS + 1 + 3} facts" in said


def test_a_kept_earlier_checkpoint_is_proven_consistent_with_the_latest(
    signed: SignedHub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first = tmp_path / "first.note"
    checkpoint(signed, capsys, first)
    signed.add_reads(5)
    checkpoint(signed, capsys, tmp_path / "second.note")

    code, said = verify(signed, capsys, first)

    assert code == 0, said
    assert f"kept checkpoint {first} (size {READS + 1}) is consistent with the latest (size {READS + 1 + 5})" in said


def test_a_kept_checkpoint_newer_than_the_hubs_record_shows_the_record_was_rolled_back(
    signed: SignedHub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    record = signed.data_dir / CHECKPOINTS_FILE
    older = record.read_bytes()
    signed.add_reads(2)
    kept = tmp_path / "newer.note"
    checkpoint(signed, capsys, kept)
    record.write_bytes(older)  # the record of checkpoints put back to an older copy

    code, said = verify(signed, capsys, kept)

    assert code == 1
    assert f"is newer than the hub's latest (size {READS + 1}): the hub's record of checkpoints was rolled back" in said


def test_an_older_checkpoint_replayed_into_the_record_is_refused(
    signed: SignedHub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    record = signed.data_dir / CHECKPOINTS_FILE
    first_line = record.read_text(encoding="utf-8").splitlines()[0]
    signed.add_reads(2)
    checkpoint(signed, capsys, tmp_path / "second.note")
    with record.open("a", encoding="utf-8") as f:
        f.write(first_line + "\n")

    code, said = verify(signed, capsys)

    assert code == 1
    assert f"(size {READS + 1}) is older than the one before it (size {READS + 3}): a replayed checkpoint" in said


def test_a_kept_checkpoint_of_another_history_signed_with_the_hubs_key_is_not_consistent(
    signed: SignedHub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The hub showed this auditor a different log than it kept (a split view)."""
    signer = parse_signer_key((signed.data_dir / KEY_FILE).read_text(encoding="ascii").strip())
    forked = tmp_path / "forked.note"
    forked.write_text(sign_checkpoint(Checkpoint(signer.name, 5, b"\x07" * 32), signer), encoding="utf-8")

    code, said = verify(signed, capsys, forked)

    assert code == 1
    assert f"kept checkpoint {forked} (size 5) is not consistent with the latest (size {READS + 1})" in said


def test_a_kept_checkpoint_signed_by_another_key_is_refused(
    signed: SignedHub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other = NoteSigner.generate(parse_signer_key((signed.data_dir / KEY_FILE).read_text(encoding="ascii").strip()).name)
    stranger = tmp_path / "stranger.note"
    stranger.write_text(sign_checkpoint(Checkpoint(other.name, 3, b"\x01" * 32), other), encoding="utf-8")

    code, said = verify(signed, capsys, stranger)

    assert code == 1
    assert f"kept checkpoint {stranger} is refused" in said and "no signature from a known key" in said


def test_rewriting_the_leaf_record_to_match_a_changed_row_does_not_hide_the_change(
    signed: SignedHub, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whoever also reaches the data folder may rewrite the leaf record, but not the signatures."""
    positions = signed.table.positions()
    signed.table.change_state(positions[2])
    leaves = signed.data_dir / LEAVES_FILE
    raw = bytearray(leaves.read_bytes())
    raw[2 * 40 + 8 : 3 * 40] = bytes(32)  # the leaf record no longer says what was signed at leaf 2
    leaves.write_bytes(bytes(raw))

    code, said = verify(signed, capsys)

    assert code == 1
    assert f"does not match the checkpoint of size {READS + 1}" in said
    assert "the leaf record (transparency.leaves) matches no signed checkpoint" in said
    assert f"the first difference lies between log positions {positions[0]} and {positions[-1]}" in said


def test_a_signed_checkpoint_altered_in_the_record_fails_its_signature(
    signed: SignedHub, capsys: pytest.CaptureFixture[str]
) -> None:
    record = signed.data_dir / CHECKPOINTS_FILE
    line = json.loads(record.read_text(encoding="utf-8").splitlines()[0])
    origin, size, root, *rest = line["note"].split("\n")
    line["note"] = "\n".join([origin, str(int(size) - 1), root, *rest])
    record.write_text(json.dumps(line) + "\n", encoding="utf-8")

    code, said = verify(signed, capsys)

    assert code == 1
    assert "checkpoint 1 in transparency.checkpoints does not verify" in said


def test_verify_refuses_a_folder_without_a_key_or_a_log(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BACKA_DATABASE_URL", raising=False)
    monkeypatch.delenv("BACKA_STORE", raising=False)
    assert main(["audit", "verify", "--data-dir", str(tmp_path / "nothing")]) == 2
    assert "no verifier key" in capsys.readouterr().err
    empty = tmp_path / "keyonly"
    empty.mkdir()
    (empty / "transparency.pub").write_text(NoteSigner.generate("backa.hub/log").verifier().encode() + "\n", encoding="ascii")
    assert main(["audit", "verify", "--data-dir", str(empty)]) == 2
    assert "events.sqlite is missing" in capsys.readouterr().err

