"""The demo's data folder: what ``backa demo`` writes beside the hub's own files (the
state of the load and the demo users), and bearer tokens for those users.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.identity.directory import Directory
from hub.identity.tokens import DemoIssuer
from hub.runtime.clock import Clock, system_clock

if TYPE_CHECKING:
    from hub.demo.loader import DemoSummary

DEMO_FOLDER = "demo"
USERS_FILE = "users.json"
STATE_FILE = "demo.json"


class DemoFolderError(Exception):
    """The data folder is not (or not yet) a demo folder."""


def demo_folder(data_dir: Path) -> Path:
    return Path(data_dir) / DEMO_FOLDER


def is_demo_folder(data_dir: Path) -> bool:
    """Whether ``backa demo`` made this data folder (finished or not)."""
    return (demo_folder(data_dir) / STATE_FILE).exists()


def demo_state(data_dir: Path) -> dict[str, Any]:
    path = demo_folder(data_dir) / STATE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def demo_ready(data_dir: Path) -> bool:
    return demo_state(data_dir).get("state") == "complete" and (demo_folder(data_dir) / USERS_FILE).exists()


def has_hub_data(data_dir: Path) -> bool:
    data_dir = Path(data_dir)
    return (data_dir / "events.sqlite").exists() or (data_dir / "directory.json").exists()


HUB_FILES = (
    "events.sqlite*", "view_*.sqlite*", "child_keys.sqlite*", "directory.json", "directory.sqlite*", "index.key", "kek.key", "transparency.*",
    "population.json",
)


def clear_demo_folder(data_dir: Path) -> None:
    """Remove what the hub and the demo wrote into a demo data folder, and nothing else."""
    data_dir = Path(data_dir)
    if has_hub_data(data_dir) and not is_demo_folder(data_dir):
        raise DemoFolderError("this data folder holds a hub that was not loaded by `backa demo`; it is left untouched")
    for pattern in HUB_FILES:
        for path in data_dir.glob(pattern):
            path.unlink()
    shutil.rmtree(demo_folder(data_dir), ignore_errors=True)
    shutil.rmtree(data_dir / "witness", ignore_errors=True)  # the demo's witness, in its folder in demo mode only


def write_demo_files(data_dir: Path, directory: Directory, summary: DemoSummary, *, seed: int) -> None:
    folder = demo_folder(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    directory.save(data_dir / "directory.json")
    users = folder / USERS_FILE
    users.write_text(json.dumps(summary.users, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    users.chmod(0o600)
    write_state(
        data_dir,
        {
            "state": "complete",
            "seed": seed,
            "children": summary.children,
            "facts": summary.facts,
            "until": summary.until.isoformat(),
            "seconds": summary.seconds,
            "stories": summary.stories,
        },
    )


def write_state(data_dir: Path, state: dict[str, Any]) -> None:
    folder = demo_folder(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STATE_FILE).write_text(json.dumps(state, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def demo_users(data_dir: Path) -> dict[str, dict[str, Any]]:
    if not demo_ready(data_dir):
        raise DemoFolderError(
            "no demo data in this data folder: tokens are issued only for demo users; run `backa demo` first"
        )
    return json.loads((demo_folder(data_dir) / USERS_FILE).read_text(encoding="utf-8"))


def issue_demo_token(data_dir: Path, user: str, *, audience: str, clock: Clock = system_clock, lifetime: timedelta | None = None) -> str:
    """A bearer token for a demo user: a staff user id or a family name like ``vardnadshavare-1``."""
    users = demo_users(data_dir)
    entry = users.get(user)
    if entry is None:
        raise DemoFolderError(f"no such demo user; see {DEMO_FOLDER}/{USERS_FILE} in the data folder")
    issuer = DemoIssuer.from_folder(demo_folder(data_dir), audience, clock)
    kw = {"lifetime": lifetime} if lifetime else {}
    if entry["kind"] == "staff":
        return issuer.staff_token(entry["tenant"], entry["user_id"], entry.get("unit_id"), list(entry["roles"]), **kw)
    return issuer.family_token(entry["tenant"], entry["kind"], entry["personnummer"], **kw)


__all__ = [
    "DEMO_FOLDER",
    "STATE_FILE",
    "USERS_FILE",
    "DemoFolderError",
    "clear_demo_folder",
    "demo_folder",
    "demo_ready",
    "demo_state",
    "demo_users",
    "has_hub_data",
    "is_demo_folder",
    "issue_demo_token",
    "write_demo_files",
    "write_state",
]
