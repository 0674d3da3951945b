"""Concurrent commands share transactions, and a conflict stays with the command that caused it."""

from __future__ import annotations

import threading
import time
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from hub.runtime.bootstrap import Runtime
from hub.runtime.commit import GroupCommitter
from tests.factories import staff

SERIALS = [f"{n:03d}" for n in range(900, 920)]


def _pnr(serial: str) -> str:
    """A valid personnummer born 2016-04-01 with the given three-digit serial."""
    body = f"160401{serial}"
    total = 0
    for i, ch in enumerate(body):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return f"20{body}{(10 - total % 10) % 10}"


class RecordingSave:
    """Stands in for the store: remembers each transaction; the first one is slow so others queue."""

    def __init__(self, refuse: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.transactions: list[tuple[Any, ...]] = []
        self.refuse = refuse
        self.first = threading.Event()

    def __call__(self, *facts: Any) -> None:
        if not self.first.is_set():
            self.first.set()
            time.sleep(0.2)
        if self.refuse & set(facts):
            raise IntegrityError("conflict")
        self.transactions.append(facts)


def run_together(committer: GroupCommitter, names: list[str], first: RecordingSave) -> dict[str, BaseException | None]:
    outcomes: dict[str, BaseException | None] = {}

    def commit(name: str) -> None:
        try:
            committer.commit([name])
            outcomes[name] = None
        except BaseException as e:  # noqa: BLE001
            outcomes[name] = e

    leader = threading.Thread(target=commit, args=("leader",))
    leader.start()
    assert first.first.wait(5)
    others = [threading.Thread(target=commit, args=(n,)) for n in names]
    for t in others:
        t.start()
    time.sleep(0.05)
    for t in [leader, *others]:
        t.join(10)
    return outcomes


def test_commands_waiting_behind_a_commit_share_the_next_transaction() -> None:
    save = RecordingSave()
    committer = GroupCommitter(save)
    outcomes = run_together(committer, [f"c{i}" for i in range(10)], save)
    assert all(e is None for e in outcomes.values())
    assert save.transactions[0] == ("leader",)
    assert sorted(f for t in save.transactions[1:] for f in t) == sorted(f"c{i}" for i in range(10))
    assert len(save.transactions) < 11


def test_a_conflict_in_a_shared_transaction_fails_only_its_own_command() -> None:
    save = RecordingSave(refuse={"bad"})
    committer = GroupCommitter(save)
    outcomes = run_together(committer, ["good-1", "bad", "good-2"], save)
    assert isinstance(outcomes["bad"], IntegrityError)
    assert outcomes["good-1"] is None and outcomes["good-2"] is None
    saved = {f for t in save.transactions for f in t}
    assert saved == {"leader", "good-1", "good-2"}


def test_a_store_failure_reaches_every_command_of_the_batch() -> None:
    def broken(*facts: Any) -> None:
        raise OSError("disk gone")

    committer = GroupCommitter(broken)
    with pytest.raises(OSError):
        committer.commit(["x"])


def test_concurrent_registrations_all_land_in_fewer_transactions(runtime: Runtime) -> None:
    hub = runtime.hub
    real_save = hub.committer._save
    started = threading.Event()

    def slow_first(*facts: Any) -> Any:
        if not started.is_set():
            started.set()
            time.sleep(0.2)
        return real_save(*facts)

    hub.committer._save = slow_first
    before = hub.log_length()
    ids: list[UUID] = []
    lock = threading.Lock()

    def register(serial: str) -> None:
        child_id = hub.register_child(
            staff("larare.ostra"),
            personnummer=_pnr(serial),
            given_name="Test",
            family_name="Barn",
            guardians=[],
        )
        with lock:
            ids.append(child_id)

    threads = [threading.Thread(target=register, args=(s,)) for s in SERIALS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(set(ids)) == len(SERIALS)
    assert hub.log_length() == before + len(SERIALS)
    assert hub.committer.batches < len(SERIALS)
