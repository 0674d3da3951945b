"""The file witness (C2SP tlog-witness add-checkpoint): it only moves forward, only along
one consistent tree, and only for the log key it first saw."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hub.tlog.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from hub.tlog.errors import LogIntegrityError, ReplayedCheckpointError
from hub.tlog.merkle import MerkleLog
from hub.tlog.witness import (
    WITNESSED_FILE,
    FileWitness,
    WitnessConfigError,
    WitnessConflictError,
    cosigned_at,
    read_witness_key,
    read_witnessed,
)

ORIGIN = "backa.test/log"


def tree(n: int, salt: bytes = b"") -> MerkleLog:
    return MerkleLog(hashlib.sha256(salt + i.to_bytes(8, "big")).digest() for i in range(n))


def note(log: NoteSigner, t: MerkleLog, size: int) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, size, t.root(size)), log)


@pytest.fixture
def log() -> NoteSigner:
    return NoteSigner.generate(ORIGIN)


@pytest.fixture
def witness(tmp_path: Path) -> FileWitness:
    return FileWitness(tmp_path / "witness")


def record(w: FileWitness) -> bytes:
    path = w.folder / WITNESSED_FILE
    return path.read_bytes() if path.exists() else b""


def test_a_consistent_checkpoint_is_cosigned_and_kept(witness: FileWitness, log: NoteSigner) -> None:
    t = tree(10)
    witness.add_checkpoint(note(log, t, 4), 0, [], log.verifier())
    done = witness.add_checkpoint(note(log, t, 10), 4, t.consistency_proof(4, 10), log.verifier())

    assert done.size == 10
    assert cosigned_at(done.cosigned_note, done.checkpoint.checkpoint.body(), read_witness_key(witness.folder)) is not None
    kept, problems = read_witnessed(witness.folder, log.verifier(), read_witness_key(witness.folder))
    assert [k.size for k in kept] == [4, 10] and not problems


def test_the_witness_refuses_a_rollback_and_keeps_its_record(witness: FileWitness, log: NoteSigner) -> None:
    t = tree(10)
    witness.add_checkpoint(note(log, t, 10), 0, [], log.verifier())
    before = record(witness)

    with pytest.raises(ReplayedCheckpointError, match="rollback"):
        witness.add_checkpoint(note(log, t, 6), 10, [], log.verifier())
    assert record(witness) == before


def test_the_witness_refuses_a_tree_that_does_not_extend_its_checkpoint(witness: FileWitness, log: NoteSigner) -> None:
    t, other = tree(10), tree(12, b"rewritten")
    witness.add_checkpoint(note(log, t, 10), 0, [], log.verifier())
    before = record(witness)

    with pytest.raises(LogIntegrityError, match="inconsistent"):
        witness.add_checkpoint(note(log, other, 12), 10, other.consistency_proof(10, 12), log.verifier())
    with pytest.raises(LogIntegrityError, match="inconsistent"):
        witness.add_checkpoint(note(log, other, 10), 10, [], log.verifier())  # same size, another root: a fork
    assert record(witness) == before


def test_a_submitter_wrong_about_the_witness_size_is_told_the_size(witness: FileWitness, log: NoteSigner) -> None:
    t = tree(10)
    witness.add_checkpoint(note(log, t, 4), 0, [], log.verifier())

    with pytest.raises(WitnessConflictError) as conflict:
        witness.add_checkpoint(note(log, t, 10), 0, [], log.verifier())
    assert conflict.value.size == 4


def test_the_witness_refuses_checkpoints_signed_with_another_key_than_the_first(witness: FileWitness, log: NoteSigner) -> None:
    t = tree(10)
    witness.add_checkpoint(note(log, t, 4), 0, [], log.verifier())
    impostor = NoteSigner.generate(ORIGIN)

    with pytest.raises(LogIntegrityError, match="another key"):
        witness.add_checkpoint(note(impostor, tree(2, b"x"), 2), 0, [], impostor.verifier())


def test_a_cosignature_does_not_verify_for_another_checkpoint(witness: FileWitness, log: NoteSigner) -> None:
    t = tree(10)
    done = witness.add_checkpoint(note(log, t, 10), 0, [], log.verifier())
    other = Checkpoint(ORIGIN, 10, tree(10, b"other").root()).body()

    assert cosigned_at(done.cosigned_note, other, read_witness_key(witness.folder)) is None


def test_a_witness_told_not_to_make_its_folder_refuses_when_the_folder_is_gone(tmp_path: Path, log: NoteSigner) -> None:
    gone = tmp_path / "volume" / "witness"
    witness = FileWitness(gone, create=False)
    with pytest.raises(WitnessConfigError, match="does not exist"):
        witness.add_checkpoint(note(log, tree(4), 4), 0, [], log.verifier())
    assert not gone.exists() and not gone.parent.exists()
