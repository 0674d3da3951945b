"""The access log: every read of a child's information, allowed or denied.

Families see their child's entries as the policy allows (dates, unit, purpose, basis;
staff names only where the tenant says so; never an entry that touched information
withheld from guardians, and never a bare denied attempt). Auditors search it all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from contracts.events import InformationAccessed
from contracts.vocabulary import Category, LegalBasis, Role
from projections.base import Page, PageProjection, View, ViewCursor, dumps, loads


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


class AccessLogView(View):
    name = "access_log"
    table_statements = (
        "CREATE TABLE IF NOT EXISTS access_log ("
        "position BIGINT PRIMARY KEY, event_id TEXT NOT NULL, tenant_id TEXT NOT NULL, child_id TEXT NOT NULL, "
        "accessed_at TEXT NOT NULL, accessor_id TEXT NOT NULL, accessor_unit TEXT, accessor_role TEXT NOT NULL, "
        "view TEXT NOT NULL, purpose TEXT NOT NULL, categories TEXT NOT NULL, bases TEXT NOT NULL, "
        "denied TEXT NOT NULL, withheld INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS access_log_child ON access_log (tenant_id, child_id, accessed_at)",
        "CREATE INDEX IF NOT EXISTS access_log_accessor ON access_log (tenant_id, accessor_id, accessed_at)",
        "CREATE INDEX IF NOT EXISTS access_log_unit ON access_log (tenant_id, accessor_unit, accessed_at)",
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
        where, params = ["tenant_id = ?"], [tenant_id]
        if child_id is not None:
            where.append("child_id = ?")
            params.append(str(child_id))
        if accessor_id is not None:
            where.append("accessor_id = ?")
            params.append(accessor_id)
        if unit_id is not None:
            where.append("accessor_unit = ?")
            params.append(unit_id)
        if since is not None:
            where.append("accessed_at >= ?")
            params.append(since.astimezone(UTC).isoformat())
        if until is not None:
            where.append("accessed_at < ?")
            params.append(until.astimezone(UTC).isoformat())
        sql = f"SELECT * FROM access_log WHERE {' AND '.join(where)} ORDER BY position LIMIT ? OFFSET ?"  # noqa: S608 - fixed clauses
        with self.read() as c:
            c.execute(sql, (*params, limit, offset))
            return [_entry(r) for r in c.fetchall()]

    def count(self) -> int:
        with self.read() as c:
            c.execute("SELECT COUNT(*) AS n FROM access_log")
            row = c.fetchone()
            return int(row["n"]) if row else 0


def _entry(row: Any) -> AccessEntry:
    return AccessEntry(
        position=row["position"],
        event_id=UUID(row["event_id"]),
        tenant_id=row["tenant_id"],
        child_id=UUID(row["child_id"]),
        accessed_at=datetime.fromisoformat(row["accessed_at"]),
        accessor_id=row["accessor_id"],
        accessor_unit_id=row["accessor_unit"],
        accessor_role=Role(row["accessor_role"]),
        view=row["view"],
        purpose=row["purpose"],
        categories=tuple(Category(c) for c in loads(row["categories"])),
        bases=tuple(LegalBasis(b) for b in loads(row["bases"])),
        denied_categories=tuple(Category(c) for c in loads(row["denied"])),
        withheld_from_guardians=bool(row["withheld"]),
    )


class AccessLogProjection(PageProjection[AccessLogView]):
    name = "access_log"

    def apply(self, c: ViewCursor, page: Page) -> None:
        c.insert_rows("access_log", [_row(position, fact) for position, fact in page if isinstance(fact, InformationAccessed)])


def _row(position: int, fact: InformationAccessed) -> tuple[Any, ...]:
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
        fact.purpose,
        dumps([c.value for c in fact.categories]),
        dumps([b.value for b in fact.bases]),
        dumps([c.value for c in fact.denied_categories]),
        int(fact.withheld_from_guardians),
    )
