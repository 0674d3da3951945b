"""Group commit: facts from concurrent commands share one transaction.

Each commit to a database pays a round trip and a flush to disk; commands that arrive
together can share both. The first caller to find no commit under way leads: it takes
every fact waiting, saves them in one transaction, and wakes each caller with its own
outcome. A batch refused as a whole (one command's facts conflict with a concurrent
change to the same child) is retried one command at a time, so a conflict is reported
to the command that caused it and to no other. Nothing here knows what a fact means.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import IntegrityError


@dataclass
class _Ticket:
    facts: Sequence[Any]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    position: int = 0


class GroupCommitter:
    def __init__(
        self,
        save: Callable[..., Any],
        max_batch: int = 500,
        on_commit: Callable[[list[tuple[int, Any]]], None] | None = None,
    ) -> None:
        self._save = save
        self._on_commit = on_commit
        """Told each committed fact with its log position (the views' follower)."""
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: list[_Ticket] = []
        self._leading = False
        self.batches = 0
        """How many transactions were used (for the benchmark's ratios)."""

    def commit(self, facts: Sequence[Any]) -> int:
        """Save ``facts`` in one transaction with whatever else is waiting; raise this
        command's own error, if it had one. Returns the last log position of the
        transaction (0 when the store does not say), which holds this command's facts."""
        ticket = _Ticket(facts)
        with self._lock:
            self._waiting.append(ticket)
            lead = not self._leading
            if lead:
                self._leading = True
        if lead:
            self._lead()
        ticket.done.wait()
        if ticket.error is not None:
            raise ticket.error
        return ticket.position

    def _lead(self) -> None:
        while True:
            with self._lock:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: len(batch)]
                if not batch:
                    self._leading = False
                    return
            self._commit_batch(batch)

    def _commit_batch(self, batch: list[_Ticket]) -> None:
        recordings: Any = None
        try:
            recordings = self._save(*[f for t in batch for f in t.facts])
            self.batches += 1
        except IntegrityError:
            if len(batch) == 1:
                batch[0].error = IntegrityError("conflict")
            else:
                for ticket in batch:
                    self._commit_batch([ticket])
                return
        except BaseException as e:  # noqa: BLE001 - every waiting command gets the store's failure
            for ticket in batch:
                ticket.error = e
        position = _last_position(recordings)
        if self._on_commit is not None and recordings:
            self._on_commit([(r.notification.id, r.domain_event) for r in recordings if r.notification.id is not None])
        for ticket in batch:
            ticket.position = position
            ticket.done.set()


def _last_position(recordings: Any) -> int:
    """The highest notification id among the library's recordings of one save."""
    ids = [r.notification.id for r in recordings or () if getattr(r, "notification", None) is not None]
    return max((i for i in ids if i is not None), default=0)
