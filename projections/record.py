"""The child's record: every fact about a child, split by information category.

One row per fact and category, holding only that category's fields, so a read can
hand each viewer exactly the categories the policy allows at that moment. The view
stores; it never decides: :func:`visible_items` asks the consent policy on every read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from consent import AccessDecision, ChildFacts, Information, PolicyRules, Viewer, decide
from contracts.events import (
    AccessReviewed,
    ChildRegistered,
    ConcernReportFiled,
    DiscoveryCardSubmitted,
    Event,
    FeedbackSent,
    InformationAccessed,
    InformationWithheld,
    RecordErased,
)
from contracts.vocabulary import Category, LegalBasis
from projections.base import Page, PageProjection, View, ViewCursor


@dataclass(frozen=True, eq=False)
class RecordItem:
    """One category's part of one fact."""

    child_id: UUID
    position: int
    event_id: UUID
    event_type: str
    category: Category
    origin_unit_id: str | None
    sent_to_unit_id: str | None
    occurred_at: datetime
    actor_id: str
    actor_role: str
    withheld_from_guardians: bool
    fields: dict[str, Any]

    def information(self) -> Information:
        return Information(
            category=self.category,
            origin_unit_id=self.origin_unit_id,
            sent_to_unit_id=self.sent_to_unit_id,
            withheld_from_guardians=self.withheld_from_guardians,
            recorded_at=self.occurred_at,
        )


class ChildRecordView(View):
    name = "child_record"
    view_version = 1
    tables = ("record_items", "guardianships", "children", "erased_children")
    table_statements = (
        "CREATE TABLE IF NOT EXISTS record_items ("
        "child_id TEXT NOT NULL, position BIGINT NOT NULL, event_id TEXT NOT NULL, "
        "event_type TEXT NOT NULL, category TEXT NOT NULL, origin_unit TEXT, sent_to_unit TEXT, "
        "occurred_at TEXT NOT NULL, actor_id TEXT NOT NULL, actor_role TEXT NOT NULL, "
        "withheld INTEGER NOT NULL DEFAULT 0, fields TEXT NOT NULL, "
        "PRIMARY KEY (child_id, position, category))",
        "CREATE INDEX IF NOT EXISTS record_items_event ON record_items (event_id)",
        "CREATE TABLE IF NOT EXISTS guardianships ("
        "tenant_id TEXT NOT NULL, guardian_id TEXT NOT NULL, child_id TEXT NOT NULL, has_custody INTEGER NOT NULL, "
        "PRIMARY KEY (guardian_id, child_id))",
        "CREATE TABLE IF NOT EXISTS children (child_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS erased_children ("
        "child_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, erased_at TEXT NOT NULL, erased_by TEXT NOT NULL)",
    )

    def items(self, child_id: UUID) -> list[RecordItem]:
        with self.read() as c:
            c.execute(
                "SELECT * FROM record_items WHERE child_id = ? ORDER BY position, category", (str(child_id),)
            )
            rows = c.fetchall()
        items = []
        for row in rows:
            fields = self.open(row["fields"])
            if fields is None:
                return []  # erased since the read began
            items.append(_item(row, fields))
        return items

    def erasure(self, child_id: UUID) -> tuple[str, datetime, str] | None:
        """The tenant, time and administrator of the child's erasure, if it was erased."""
        with self.read() as c:
            c.execute("SELECT * FROM erased_children WHERE child_id = ?", (str(child_id),))
            row = c.fetchone()
        return None if row is None else (row["tenant_id"], datetime.fromisoformat(row["erased_at"]), row["erased_by"])

    def erasures(self, tenant_id: str) -> list[tuple[UUID, datetime, str]]:
        """Every erased child of the tenant: id, when and by whom, in time order."""
        with self.read() as c:
            c.execute("SELECT * FROM erased_children WHERE tenant_id = ? ORDER BY erased_at, child_id", (tenant_id,))
            return [(UUID(r["child_id"]), datetime.fromisoformat(r["erased_at"]), r["erased_by"]) for r in c.fetchall()]

    def children_of_guardian(self, tenant_id: str, guardian_id: str) -> list[UUID]:
        with self.read() as c:
            c.execute(
                "SELECT child_id FROM guardianships WHERE tenant_id = ? AND guardian_id = ? ORDER BY child_id",
                (tenant_id, guardian_id),
            )
            return [UUID(r["child_id"]) for r in c.fetchall()]

    def identities(self, tenant_id: str, child_ids: list[UUID] | None = None) -> dict[UUID, dict[str, Any]]:
        """The registered identity (name, personnummer, birth date) of the tenant's children,
        or of ``child_ids`` among them: what an auditor's list names a child by."""
        sql = (
            "SELECT r.child_id AS child_id, r.fields AS fields FROM record_items r JOIN children c ON c.child_id = r.child_id "
            "WHERE c.tenant_id = ? AND r.category = ? AND r.event_type = ?"
        )
        params: list[Any] = [tenant_id, Category.IDENTITY.value, ChildRegistered.type_name]
        out: dict[UUID, dict[str, Any]] = {}
        with self.read() as c:
            wanted = [str(i) for i in dict.fromkeys(child_ids)] if child_ids is not None else None
            chunks = [wanted[i : i + 500] for i in range(0, len(wanted), 500)] if wanted is not None else [None]
            for chunk in chunks:
                if chunk is not None and not chunk:
                    continue
                where = f" AND r.child_id IN ({','.join('?' * len(chunk))})" if chunk is not None else ""
                c.execute(sql + where + " ORDER BY r.position", (*params, *(chunk or ())))  # noqa: S608 - only placeholders
                for row in c.fetchall():
                    fields = self.open(row["fields"])
                    if fields is not None:
                        out[UUID(row["child_id"])] = fields
        return out

    def version(self) -> tuple[int, int]:
        """The newest record item's log position and the number of erasures: changes
        whenever a fact of any child's record arrives or a child is erased."""
        with self.read() as c:
            c.execute("SELECT MAX(position) AS p FROM record_items")
            row = c.fetchone()
            c.execute("SELECT COUNT(*) AS n FROM erased_children")
            erased = c.fetchone()
        return (int(row["p"] or 0) if row else 0, int(erased["n"]) if erased else 0)

    def count_children(self, tenant_id: str) -> int:
        with self.read() as c:
            c.execute("SELECT COUNT(*) AS n FROM children WHERE tenant_id = ?", (tenant_id,))
            row = c.fetchone()
            return int(row["n"]) if row else 0


def _item(row: Any, fields: dict[str, Any]) -> RecordItem:
    return RecordItem(
        child_id=UUID(row["child_id"]),
        position=row["position"],
        event_id=UUID(row["event_id"]),
        event_type=row["event_type"],
        category=Category(row["category"]),
        origin_unit_id=row["origin_unit"],
        sent_to_unit_id=row["sent_to_unit"],
        occurred_at=datetime.fromisoformat(row["occurred_at"]),
        actor_id=row["actor_id"],
        actor_role=row["actor_role"],
        withheld_from_guardians=bool(row["withheld"]),
        fields=fields,
    )


def _sent_to(fact: Event) -> str | None:
    if isinstance(fact, DiscoveryCardSubmitted | FeedbackSent | ConcernReportFiled):
        return fact.to_unit_id
    return None


def _is_empty(value: Any) -> bool:
    return value in ("", None, (), [], {})


class ChildRecordProjection(PageProjection[ChildRecordView]):
    """Writes each fact's categories as rows; marks facts withheld from guardians (a report
    whose reporter alone is kept from them stays shown: the core leaves its reporter out)."""

    name = "child_record"

    def apply(self, c: ViewCursor, page: Page) -> None:
        items: list[tuple[Any, ...]] = []
        children: list[tuple[str, str]] = []
        guardianships: list[tuple[Any, ...]] = []

        def flush() -> None:
            c.executemany("INSERT INTO children VALUES (?, ?) ON CONFLICT (child_id) DO NOTHING", children)
            c.executemany(
                "INSERT INTO guardianships VALUES (?, ?, ?, ?) ON CONFLICT (guardian_id, child_id) "
                "DO UPDATE SET tenant_id = excluded.tenant_id, has_custody = excluded.has_custody",
                guardianships,
            )
            c.insert_rows("record_items", items)
            items.clear()
            children.clear()
            guardianships.clear()

        for position, fact in page:
            if isinstance(fact, (InformationAccessed, AccessReviewed)):
                continue
            if isinstance(fact, RecordErased):
                flush()
                _erase(c, fact)
                continue
            items.extend(_rows(fact, position, self.view.seal))
            if isinstance(fact, ChildRegistered):
                children.append((str(fact.child_id), fact.tenant_id))
                guardianships.extend(
                    (fact.tenant_id, g.guardian_id, str(fact.child_id), int(g.has_custody)) for g in fact.guardians
                )
            elif isinstance(fact, InformationWithheld) and not fact.reporter_only:
                flush()  # the facts it marks may be earlier in this page
                c.executemany(
                    "UPDATE record_items SET withheld = 1 WHERE event_id = ?", [(str(e),) for e in fact.event_ids]
                )
        flush()


def _erase(c: ViewCursor, fact: RecordErased) -> None:
    """Nothing of the child stays but the fact that it was erased (no personal data)."""
    child = str(fact.child_id)
    for table in ("record_items", "guardianships", "children"):
        c.execute(f"DELETE FROM {table} WHERE child_id = ?", (child,))  # noqa: S608 - our tables
    c.execute(
        "INSERT INTO erased_children VALUES (?, ?, ?, ?) ON CONFLICT (child_id) DO NOTHING",
        (child, fact.tenant_id, fact.occurred_at.isoformat(), fact.actor.user_id),
    )


def _rows(fact: Event, position: int, seal: Callable[[UUID, Any], str]) -> list[tuple[Any, ...]]:
    """One row per category the fact carries something in; the fields sealed."""
    return [
        (
            str(fact.child_id),
            position,
            str(fact.event_id),
            fact.type_name,
            category.value,
            fact.actor.unit_id,
            _sent_to(fact),
            fact.occurred_at.isoformat(),
            fact.actor.user_id,
            fact.actor.role.value,
            int(fact.withheld_from_guardians),
            seal(fact.child_id, fields),
        )
        for category, fields in fact.split_by_category().items()
        if not all(_is_empty(v) for v in fields.values())
    ]


@dataclass(frozen=True)
class VisibleRecord:
    """What one viewer may see of a child's record at one moment, and why."""

    items: tuple[RecordItem, ...]
    decisions: dict[RecordItem, AccessDecision]

    @property
    def categories(self) -> tuple[Category, ...]:
        return tuple(sorted({i.category for i in self.items}, key=lambda c: c.value))

    @property
    def bases(self) -> tuple[LegalBasis, ...]:
        found = {d.basis for d in self.decisions.values() if d.allowed and d.basis is not None}
        return tuple(sorted(found, key=lambda b: b.value))

    @property
    def denied_categories(self) -> tuple[Category, ...]:
        return tuple(
            sorted({i.category for i, d in self.decisions.items() if not d.allowed}, key=lambda c: c.value)
        )

    @property
    def touches_withheld(self) -> bool:
        return any(i.withheld_from_guardians for i in self.items)


def visible_items(
    viewer: Viewer, facts: ChildFacts, items: list[RecordItem], at: datetime, rules: PolicyRules
) -> VisibleRecord:
    """Ask the policy about every item; keep those it allows now."""
    decisions = {item: decide(viewer, facts, item.information(), at, rules) for item in items}
    return VisibleRecord(tuple(i for i in items if decisions[i].allowed), decisions)

