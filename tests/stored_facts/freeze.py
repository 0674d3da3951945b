"""Freeze one stored fact of every event type, in the exact form the hub stores it.

    python -m tests.stored_facts.freeze

Loads a small demo (which records every published event) into a data folder of its own
and writes, for each event type whose file at its current ``schema_version`` does not
exist yet, the opened stored state of one of its facts to ``v<version>/<Event>.json``:
the bytes as the storage mapper wrote them, the input every later release must still
read. A file once written is never overwritten or edited: the script refuses to.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from contracts.events import EVENT_TYPES
from hub.keys.stored_form import current_version

FOLDER = Path(__file__).parent
CHILDREN = 12
UNTIL = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def frozen_path(type_name: str, version: int | None = None) -> Path:
    """Where the stored fact of ``type_name`` at ``version`` (today's by default) is kept."""
    contract = EVENT_TYPES[type_name]
    return FOLDER / f"v{version or current_version(contract)}" / f"{contract.__name__}.json"


def frozen_files() -> list[Path]:
    """Every frozen stored fact, of every version."""
    return sorted(FOLDER.glob("v*/*.json"))


def type_name_of(path: Path) -> str:
    return f"backa.v1.{path.stem}"


def _stored_states(wanted: Iterable[str]) -> dict[str, bytes]:
    """One opened stored state of each wanted type, from a freshly loaded demo."""
    from hub import demo
    from hub.keys.child_keys import ChildKeyDestroyedError
    from hub.runtime.bootstrap import bootstrap
    from hub.runtime.clock import SettableClock
    from hub.runtime.settings import Settings

    left = set(wanted)
    found: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as temp:
        data_dir = Path(temp) / "data"
        demo.build_demo_data(Settings(data_dir=data_dir), children=CHILDREN, until=UNTIL)
        rt = bootstrap(Settings(data_dir=data_dir, demo_mode=True), clock=SettableClock(UNTIL))
        try:
            for n in rt.hub.recorder.select_notifications(1, 1_000_000):
                if n.topic not in left:
                    continue
                try:
                    found[n.topic] = rt.hub.sealer.open(n.state)
                except ChildKeyDestroyedError:  # a fact of the demo's erased child
                    continue
                left.discard(n.topic)
                if not left:
                    break
        finally:
            rt.close()
    if left:
        raise SystemExit(f"the demo recorded no readable fact of {', '.join(sorted(left))}: freeze one by hand")
    return found


def freeze() -> list[Path]:
    """Write the missing files; the paths written."""
    missing = {name: frozen_path(name) for name in EVENT_TYPES if not frozen_path(name).exists()}
    if not missing:
        return []
    written = []
    for name, state in sorted(_stored_states(missing).items()):
        path = missing[name]
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("xb") as f:  # never over a frozen file
            f.write(state)
        written.append(path)
    return written


def main() -> int:
    written = freeze()
    for path in written:
        print(path.relative_to(FOLDER))
    if not written:
        print("every event type has its stored fact at today's version; nothing written", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
