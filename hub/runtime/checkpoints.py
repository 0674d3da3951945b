"""Where the checkpoint signing key and the witness live, from the settings, checked once.

Outside demo mode a hub on a persistent store refuses to start with either inside the data
folder: whoever can rewrite the log (the database, the data folder) could then also sign a
rewritten history with the key beside it, or roll the witness back with it. It also refuses
to start without a witness, or with a witness folder that does not exist: the data folder's
own record of checkpoints can be cut together with the log's tail, and only a record kept
elsewhere catches that; a folder that is missing is most likely a volume not mounted, and
is not made in its place. In demo mode both default into the data folder, so a demo is one
folder to delete. The memory store keeps nothing to cut, so it needs neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hub.runtime.clock import Clock, system_clock
from hub.runtime.settings import Settings
from hub.tlog.errors import TransparencyError
from hub.tlog.service import CheckpointPolicy
from hub.tlog.store import KEY_FILE
from hub.tlog.witness import FileWitness

DEMO_WITNESS_DIR = "witness"


class CheckpointConfigError(TransparencyError):
    """The checkpoint key or the witness is where the hub will not keep it."""

    title = "Checkpoint configuration"


@dataclass(frozen=True)
class CheckpointPlaces:
    key_file: Path
    witness_dir: Path | None
    create_witness: bool = False
    """Whether the witness may make its folder: in demo mode only."""


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def checkpoint_places(settings: Settings, *, starting: bool = True) -> CheckpointPlaces:
    """The key file and witness folder the settings name, refused beside the log outside
    demo mode when the hub is ``starting``. The ``backa audit`` commands read a folder as
    it is (a demo's included) and also find a demo's witness without demo mode set."""
    data = settings.data_dir
    key = settings.checkpoint_key_file or data / KEY_FILE
    demo_witness = data / DEMO_WITNESS_DIR
    witness = settings.witness_dir or (
        demo_witness if settings.demo_mode or (not starting and demo_witness.exists()) else None
    )
    if starting and not settings.demo_mode:
        if _inside(key, data):
            raise CheckpointConfigError(
                f"the checkpoint signing key ({key}) is inside the data folder, beside the log it signs: "
                "move it to another folder or volume and set BACKA_CHECKPOINT_KEY_FILE (or --checkpoint-key)"
            )
        if witness is not None and _inside(witness, data):
            raise CheckpointConfigError(
                f"the witness folder ({witness}) is inside the data folder: set BACKA_WITNESS_DIR to "
                "a folder on another volume or owned by another account"
            )
        if witness is None:
            raise CheckpointConfigError(
                "no witness: outside demo mode the hub keeps its checkpoints also with a witness, so that a tail "
                "cut together with the data folder's record of checkpoints is caught; set BACKA_WITNESS_DIR "
                "(or --witness) to a folder on another volume or owned by another account"
            )
        if not witness.is_dir():
            raise CheckpointConfigError(
                f"the witness folder ({witness}) does not exist (a volume not mounted?): the hub does not make it "
                "outside demo mode; create or mount it, or correct BACKA_WITNESS_DIR"
            )
    return CheckpointPlaces(key, witness, create_witness=settings.demo_mode)


def checkpoint_policy(settings: Settings, clock: Clock = system_clock) -> CheckpointPolicy:
    """Sign at least every ``checkpoint_seconds`` while facts are written."""
    return CheckpointPolicy(every_seconds=settings.checkpoint_seconds, clock=clock)


def witness_of(places: CheckpointPlaces) -> FileWitness | None:
    if places.witness_dir is None:
        return None
    return FileWitness(places.witness_dir, create=places.create_witness)
