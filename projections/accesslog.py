"""The access log: every read of a child's information, allowed or denied.

Families see their child's entries as the policy allows (dates, unit, purpose, basis;
staff names only where the tenant says so; never an entry that touched information
withheld from guardians, and never a bare denied attempt). Auditors search it all, and
keep their findings on reads (``AccessReviewed``) beside it, one row per review and one
link per read it covers, so a review list and "was this read reviewed" are plain queries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from contracts.events import AccessReviewed, InformationAccessed, RecordErased
from contracts.vocabulary import Category, LegalBasis, ReviewOutcome, Role
from projections.base import Page, PageProjection, View, ViewCursor, dumps, loads, types_of


@dataclass(frozen=True)
class AccessEntry:
    position: int
    event_id: UUID
    tenant_id: str
    child_id: UUID
    accessed_at: datetime
    accessor_id: str
    accessor_unit_id: str | None
    accessor_role: Role
    view: str
    purpose: str
    categories: tuple[Category, ...]
    bases: tuple[LegalBasis, ...]
    denied_categories: tuple[Category, ...]
    withheld_from_guardians: bool

    @property
    def allowed(self) -> bool:
        return bool(self.categories)


@dataclass(frozen=True)
class ReviewEntry:
    """An auditor's finding on one or more reads of one child."""

    position: int
    event_id: UUID
    tenant_id: str
    child_id: UUID
    reviewed_at: datetime
    reviewer_id: str
    outcome: ReviewOutcome
    note: str
    access_event_ids: tuple[UUID, ...]


class AccessLogView(View):
    name = "access_log"
    view_version = 1
    tables = ("access_log", "access_reviews", "access_review_links")
    table_statements = (
        "CREATE TABLE IF NOT EXISTS access_log ("
        "position BIGINT PRIMARY KEY, event_id TEXT NOT NULL, tenant_id TEXT NOT NULL, child_id TEXT NOT NULL, "
        "accessed_at TEXT NOT NULL, accessor_id TEXT NOT NULL, accessor_unit TEXT, accessor_role TEXT NOT NULL, "
        "view TEXT NOT NULL, purpose TEXT NOT NULL, categories TEXT NOT NULL, bases TEXT NOT NULL, "
        "denied TEXT NOT NULL, withheld INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS access_log_child ON access_log (tenant_id, child_id, accessed_at)",
        "CREATE INDEX IF NOT EXISTS access_log_accessor ON access_log (tenant_id, accessor_id, accessed_at)",
        "CREATE INDEX IF NOT EXISTS access_log_unit ON access_log (tenant_id, accessor_unit, accessed_at)",
        "CREATE INDEX IF NOT EXISTS access_log_time ON access_log (tenant_id, accessed_at)",
        "CREATE INDEX IF NOT EXISTS access_log_event ON access_log (tenant_id, event_id)",
        "CREATE TABLE IF NOT EXISTS access_reviews ("
        "position BIGINT PRIMARY KEY, event_id TEXT NOT NULL, tenant_id TEXT NOT NULL, child_id TEXT NOT NULL, "
        "reviewed_at TEXT NOT NULL, reviewer_id TEXT NOT NULL, outcome TEXT NOT NULL, note TEXT NOT NULL, "
        "access_event_ids TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS access_reviews_time ON access_reviews (tenant_id, reviewed_at)",
        "CREATE TABLE IF NOT EXISTS access_review_links ("
        "review_position BIGINT NOT NULL, access_event_id TEXT NOT NULL, tenant_id TEXT NOT NULL, "
        "PRIMARY KEY (review_position, access_event_id))",
        "CREATE INDEX IF NOT EXISTS access_review_links_access ON access_review_links (tenant_id, access_event_id)",
    )

    def search(
        self,
        tenant_id: str,
        *,
        child_id: UUID | None = None,
        accessor_id: str | None = None,
        unit_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 500,
        offset: int = 0,
    ) -> list[AccessEntry]:
        where, params = _filters(
            tenant_id,
            {"child_id": str(child_id) if child_id else None, "accessor_id": accessor_id, "accessor_unit": unit_id},
            "accessed_at", since, until,
        )
        sql = f"SELECT * FROM access_log WHERE {where} ORDER BY position LIMIT ? OFFSET ?"  # noqa: S608 - fixed clauses
        with self.read() as c:
            c.execute(sql, (*params, limit, offset))
            return self._entries(c.fetchall())

    def positions(
        self, tenant_id: str, *, since: datetime, until: datetime, exclude_role: Role | None = None
    ) -> list[int]:
        """The log positions of the reads in ``[since, until)``, in order: what a sample is drawn from."""
        where, params = _filters(tenant_id, {}, "accessed_at", since, until)
        if exclude_role is not None:
            where += " AND accessor_role <> ?"
            params.append(exclude_role.value)
        with self.read() as c:
            c.execute(f"SELECT position FROM access_log WHERE {where} ORDER BY position", params)  # noqa: S608
            return [int(r["position"]) for r in c.fetchall()]

    def at_positions(self, tenant_id: str, positions: list[int]) -> list[AccessEntry]:
        """The reads at ``positions`` in the tenant, in log order."""
        out: list[AccessEntry] = []
        with self.read() as c:
            for start in range(0, len(positions), 500):
                chunk = positions[start : start + 500]
                # By the primary key alone, the area checked on each row: with the area in the
                # WHERE clause a store may walk the area's index instead, every row per chunk.
                c.execute(f"SELECT * FROM access_log WHERE position IN ({','.join('?' * len(chunk))})", chunk)  # noqa: S608
                out.extend(self._entries([r for r in c.fetchall() if r["tenant_id"] == tenant_id]))
        return sorted(out, key=lambda e: e.position)

    def in_period(
        self, tenant_id: str, *, since: datetime, until: datetime, exclude_role: Role | None = None
    ) -> list[AccessEntry]:
        """The reads in ``[since, until)`` in log order, in one query, their purposes left
        sealed (``""``): what the review rules run over, which never look at a purpose.
        Open the few a page shows with :meth:`at_positions`."""
        where, params = _filters(tenant_id, {}, "accessed_at", since, until)
        if exclude_role is not None:
            where += " AND accessor_role <> ?"
            params.append(exclude_role.value)
        columns = (
            "position, event_id, tenant_id, child_id, accessed_at, accessor_id, accessor_unit, accessor_role, view, "
            "categories, bases, denied, withheld"
        )
        with self.read() as c:
            c.execute(f"SELECT {columns} FROM access_log WHERE {where} ORDER BY position", params)  # noqa: S608 - fixed clauses
            return [_entry(r, "") for r in c.fetchall()]

    def last_position(self, tenant_id: str, *, exclude_role: Role) -> int:
        """The log position of the tenant's newest read by anyone but ``exclude_role`` (0: none)."""
        with self.read() as c:
            c.execute(
                "SELECT position FROM access_log WHERE tenant_id = ? AND accessor_role <> ? ORDER BY position DESC LIMIT 1",
                (tenant_id, exclude_role.value),
            )
            row = c.fetchone()
            return int(row["position"]) if row else 0

    def by_event_ids(self, tenant_id: str, event_ids: list[UUID]) -> dict[UUID, AccessEntry]:
        """The reads in the tenant with these event ids (those not found are left out)."""
        if not event_ids:
            return {}
        with self.read() as c:
            c.execute(
                f"SELECT * FROM access_log WHERE tenant_id = ? AND event_id IN ({','.join('?' * len(event_ids))})",  # noqa: S608
                (tenant_id, *(str(e) for e in event_ids)),
            )
            return {e.event_id: e for e in self._entries(c.fetchall())}

    def reviews(
        self,
        tenant_id: str,
        *,
        child_id: UUID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[ReviewEntry]:
        """Auditors' findings in the tenant, in log order."""
        where, params = _filters(tenant_id, {"child_id": str(child_id) if child_id else None}, "reviewed_at", since, until)
        sql = f"SELECT * FROM access_reviews WHERE {where} ORDER BY position LIMIT ? OFFSET ?"  # noqa: S608
        with self.read() as c:
            c.execute(sql, (*params, limit, offset))
            rows = c.fetchall()
        out = []
        for r in rows:
            note = self.open(r["note"])
            if note is not None:
                out.append(_review(r, note))
        return out

    def outcomes_for(self, tenant_id: str, access_event_ids: list[UUID]) -> dict[UUID, list[ReviewOutcome]]:
        """For each read that has been reviewed, its findings in log order."""
        out: dict[UUID, list[ReviewOutcome]] = {}
        with self.read() as c:
            for start in range(0, len(access_event_ids), 500):
                chunk = [str(e) for e in access_event_ids[start : start + 500]]
                c.execute(
                    "SELECT l.access_event_id AS access_event_id, r.outcome AS outcome FROM access_review_links l "  # noqa: S608 - only placeholders
                    "JOIN access_reviews r ON r.position = l.review_position "
                    f"WHERE l.tenant_id = ? AND l.access_event_id IN ({','.join('?' * len(chunk))}) "
                    "ORDER BY r.position",
                    (tenant_id, *chunk),
                )
                for r in c.fetchall():
                    out.setdefault(UUID(r["access_event_id"]), []).append(ReviewOutcome(r["outcome"]))
        return out

    def _entries(self, rows: list[Any]) -> list[AccessEntry]:
        """Rows as entries, their purpose opened; a read of a child erased meanwhile is left out."""
        out = []
        for r in rows:
            purpose = self.open(r["purpose"])
            if purpose is not None:
                out.append(_entry(r, purpose))
        return out

    def count(self) -> int:
        with self.read() as c:
            c.execute("SELECT COUNT(*) AS n FROM access_log")
            row = c.fetchone()
            return int(row["n"]) if row else 0


def _filters(
    tenant_id: str, equal: dict[str, Any], time_column: str, since: datetime | None, until: datetime | None
) -> tuple[str, list[Any]]:
    """A ``WHERE`` clause over fixed column names: the tenant, each given column equal to
    its value (``None`` leaves it out), and ``[since, until)`` on ``time_column``."""
    where, params = ["tenant_id = ?"], [tenant_id]
    for column, value in equal.items():
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if since is not None:
        where.append(f"{time_column} >= ?")
        params.append(since.astimezone(UTC).isoformat())
    if until is not None:
        where.append(f"{time_column} < ?")
        params.append(until.astimezone(UTC).isoformat())
    return " AND ".join(where), params


@lru_cache(maxsize=4096)
def _categories(text: str) -> tuple[Category, ...]:
    """A stored list of categories; the same few lists recur on every row, so each is parsed once."""
    return tuple(Category(c) for c in loads(text))


@lru_cache(maxsize=1024)
def _bases(text: str) -> tuple[LegalBasis, ...]:
    return tuple(LegalBasis(b) for b in loads(text))


@lru_cache(maxsize=65536)
def _child(text: str) -> UUID:
    return UUID(text)


def _entry(row: Any, purpose: str) -> AccessEntry:
    return AccessEntry(
        position=row["position"],
        event_id=UUID(row["event_id"]),
        tenant_id=row["tenant_id"],
        child_id=_child(row["child_id"]),
        accessed_at=datetime.fromisoformat(row["accessed_at"]),
        accessor_id=row["accessor_id"],
        accessor_unit_id=row["accessor_unit"],
        accessor_role=Role(row["accessor_role"]),
        view=row["view"],
        purpose=purpose,
        categories=_categories(row["categories"]),
        bases=_bases(row["bases"]),
        denied_categories=_categories(row["denied"]),
        withheld_from_guardians=bool(row["withheld"]),
    )


def _review(row: Any, note: str) -> ReviewEntry:
    return ReviewEntry(
        position=row["position"],
        event_id=UUID(row["event_id"]),
        tenant_id=row["tenant_id"],
        child_id=UUID(row["child_id"]),
        reviewed_at=datetime.fromisoformat(row["reviewed_at"]),
        reviewer_id=row["reviewer_id"],
        outcome=ReviewOutcome(row["outcome"]),
        note=note,
        access_event_ids=tuple(UUID(e) for e in loads(row["access_event_ids"])),
    )


class AccessLogProjection(PageProjection[AccessLogView]):
    name = "access_log"
    takes = types_of(InformationAccessed, AccessReviewed)

    def apply(self, c: ViewCursor, page: Page) -> None:
        """Reads and reviews as rows, their free text sealed. An erasure takes the child's
        reads and reviews with it: they were sealed under the child's key, so a view
        rebuilt from the log could not have them either."""
        seal = self.view.seal
        for start, (_, fact) in enumerate(page):
            if isinstance(fact, RecordErased):
                self.apply(c, page[:start])
                _erase(c, str(fact.child_id))
                self.apply(c, page[start + 1 :])
                return
        c.insert_rows(
            "access_log", [_row(position, fact, seal) for position, fact in page if isinstance(fact, InformationAccessed)]
        )
        reviews = [(position, fact) for position, fact in page if isinstance(fact, AccessReviewed)]
        if reviews:
            c.insert_rows("access_reviews", [_review_row(position, fact, seal) for position, fact in reviews])
            c.insert_rows(
                "access_review_links",
                [(position, str(e), fact.tenant_id) for position, fact in reviews for e in dict.fromkeys(fact.access_event_ids)],
            )


def _erase(c: ViewCursor, child: str) -> None:
    c.execute(
        "DELETE FROM access_review_links WHERE review_position IN (SELECT position FROM access_reviews WHERE child_id = ?)",
        (child,),
    )
    c.execute("DELETE FROM access_reviews WHERE child_id = ?", (child,))
    c.execute("DELETE FROM access_log WHERE child_id = ?", (child,))


def _review_row(position: int, fact: AccessReviewed, seal: Callable[[UUID, Any], str]) -> tuple[Any, ...]:
    return (
        position,
        str(fact.event_id),
        fact.tenant_id,
        str(fact.child_id),
        fact.occurred_at.astimezone(UTC).isoformat(),
        fact.actor.user_id,
        fact.outcome.value,
        seal(fact.child_id, fact.note),
        dumps([str(e) for e in fact.access_event_ids]),
    )


def _row(position: int, fact: InformationAccessed, seal: Callable[[UUID, Any], str]) -> tuple[Any, ...]:
    return (
        position,
        str(fact.event_id),
        fact.tenant_id,
        str(fact.child_id),
        fact.occurred_at.astimezone(UTC).isoformat(),
        fact.accessor_id,
        fact.accessor_unit_id,
        fact.accessor_role.value,
        fact.view,
        seal(fact.child_id, fact.purpose),
        dumps([c.value for c in fact.categories]),
        dumps([b.value for b in fact.bases]),
        dumps([c.value for c in fact.denied_categories]),
        int(fact.withheld_from_guardians),
    )
