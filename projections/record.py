"""The child's record: every fact about a child, split by information category.

One row per fact and category, holding only that category's fields, so a read can
hand each viewer exactly the categories the policy allows at that moment. The view
stores; it never decides: :func:`visible_items` asks the consent policy on every read.

Each child's items, once opened and decoded, are kept in the process (a bounded LRU)
beside the child's head: the position of its latest fact the view holds, and of its
latest fact that changed earlier rows (a withholding). A read asks for the head only;
when it is unchanged nothing is opened again, when only later facts came, only their
rows are read. So a read costs the same for a child with a year of history as for a
new one, and a fact written by any process's follower is seen by the next read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from consent import AccessDecision, ChildFacts, Information, PolicyRules, Viewer, decide_each
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
from contracts.vocabulary import Category, LegalBasis, Role
from projections.base import Page, PageProjection, View, ViewCursor, types_of

CACHED_CHILDREN = 1_000
"""Children whose opened record items a process keeps in memory (least recently read dropped first)."""


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
    tables = ("record_items", "guardianships", "children", "erased_children", "record_heads")
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
        "CREATE TABLE IF NOT EXISTS record_heads ("
        "child_id TEXT PRIMARY KEY, position BIGINT NOT NULL, marked BIGINT NOT NULL)",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cached_children = CACHED_CHILDREN
        """Children whose opened items this process keeps (``BACKA_RECORD_CACHE_CHILDREN``); 0 keeps none."""
        self._cache: OrderedDict[UUID, _Kept] = OrderedDict()
        self._erased: set[UUID] = set()
        """Children erased while this process ran: a read that opened rows just before is not kept."""
        self._cache_lock = threading.Lock()
        self.rows_opened = 0
        """Rows opened and decoded since the view was made: what a read of a long record
        must not pay more of than a read of a short one."""

    def items(self, child_id: UUID) -> list[RecordItem]:
        """The child's items in log order. Rows already opened in this process are taken
        from memory while the child's head in the view says they are still current."""
        key = str(child_id)
        with self.read() as c:
            c.execute("SELECT position, marked FROM record_heads WHERE child_id = ?", (key,))
            head = c.fetchone()
            kept = self._kept(child_id)
            if head is None:
                self._drop(child_id)
                return self._opened(c, key, after=None, upto=None) or []  # no head: written before heads were kept
            position, marked = int(head["position"]), int(head["marked"])
            if kept is not None and kept.position == position and kept.marked == marked:
                return list(kept.items)
            incremental = kept is not None and kept.marked == marked and kept.position < position
            fresh = self._opened(c, key, after=kept.position if incremental and kept is not None else None, upto=position)
        if fresh is None:
            self._drop(child_id)
            return []  # erased since the read began
        items = [*kept.items, *fresh] if incremental and kept is not None else fresh
        self._keep(child_id, _Kept(position, marked, tuple(items)))
        return items

    def _opened(self, c: ViewCursor, key: str, *, after: int | None, upto: int | None) -> list[RecordItem] | None:
        """The child's rows after ``after`` up to its head ``upto`` (rows a follower wrote
        since the head was read belong to the next head), opened; None if erased meanwhile."""
        sql = "SELECT * FROM record_items WHERE child_id = ?"
        params: list[Any] = [key]
        if after is not None:
            sql += " AND position > ?"
            params.append(after)
        if upto is not None:
            sql += " AND position <= ?"
            params.append(upto)
        c.execute(sql + " ORDER BY position, category", params)
        items = []
        for row in c.fetchall():
            self.rows_opened += 1
            fields = self.open(row["fields"])
            if fields is None:
                return None
            items.append(_item(row, fields))
        return items

    def _kept(self, child_id: UUID) -> _Kept | None:
        with self._cache_lock:
            kept = self._cache.get(child_id)
            if kept is not None:
                self._cache.move_to_end(child_id)
            return kept

    def _keep(self, child_id: UUID, kept: _Kept) -> None:
        with self._cache_lock:
            if child_id in self._erased:
                return
            known = self._cache.get(child_id)
            if known is not None and (known.marked, known.position) > (kept.marked, kept.position):
                return  # a concurrent read kept a newer state
            self._cache[child_id] = kept
            self._cache.move_to_end(child_id)
            while len(self._cache) > self.cached_children:
                self._cache.popitem(last=False)

    def forget(self, child_id: UUID) -> None:
        """The child is erased: drop what this process holds of it in memory, and keep
        nothing a read still under way opened."""
        with self._cache_lock:
            self._erased.add(child_id)
            self._cache.pop(child_id, None)

    def _drop(self, child_id: UUID) -> None:
        with self._cache_lock:
            self._cache.pop(child_id, None)

    def holds(self, child_id: UUID) -> bool:
        """Whether this process holds the child's opened items in memory."""
        with self._cache_lock:
            return child_id in self._cache

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


@dataclass(frozen=True)
class _Kept:
    """A child's opened items, and the head of the view they reflect."""

    position: int
    marked: int
    items: tuple[RecordItem, ...]


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


_EMPTY: tuple[Any, ...] = ("", None, (), [], {})
"""What a field holds when it carries nothing."""
_CATEGORY = {c: c.value for c in Category}
_ROLE = {r: r.value for r in Role}
"""The stored text of each category and role, looked up rather than read from the enum per row."""


class ChildRecordProjection(PageProjection[ChildRecordView]):
    """Writes each fact's categories as rows; marks facts withheld from guardians (a report
    whose reporter alone is kept from them stays shown: the core leaves its reporter out)."""

    name = "child_record"
    ignores = types_of(InformationAccessed, AccessReviewed)

    def apply(self, c: ViewCursor, page: Page) -> None:
        items: list[tuple[Any, ...]] = []
        children: list[tuple[str, str]] = []
        guardianships: list[tuple[Any, ...]] = []
        heads: dict[str, list[int]] = {}
        """Each child's latest fact in this page, and its latest fact that changed earlier rows."""

        def flush() -> None:
            c.executemany("INSERT INTO children VALUES (?, ?) ON CONFLICT (child_id) DO NOTHING", children)
            c.executemany(
                "INSERT INTO guardianships VALUES (?, ?, ?, ?) ON CONFLICT (guardian_id, child_id) "
                "DO UPDATE SET tenant_id = excluded.tenant_id, has_custody = excluded.has_custody",
                list({(g[1], g[2]): g for g in guardianships}.values()),  # the last of each, as one upsert after another
            )
            c.insert_rows("record_items", items)
            items.clear()
            children.clear()
            guardianships.clear()

        seal = self.view.seal
        for position, fact in page:
            if isinstance(fact, (InformationAccessed, AccessReviewed)):
                continue
            if isinstance(fact, RecordErased):
                flush()
                heads.pop(str(fact.child_id), None)
                _erase(c, fact)
                continue
            child = str(fact.child_id)
            head = heads.setdefault(child, [position, 0])
            head[0] = position
            if isinstance(fact, InformationWithheld) and not fact.reporter_only:
                head[1] = position
            items.extend(_rows(fact, position, seal, child))
            if isinstance(fact, ChildRegistered):
                children.append((child, fact.tenant_id))
                guardianships.extend((fact.tenant_id, g.guardian_id, child, int(g.has_custody)) for g in fact.guardians)
            elif isinstance(fact, InformationWithheld) and not fact.reporter_only:
                flush()  # the facts it marks may be earlier in this page
                c.executemany(
                    "UPDATE record_items SET withheld = 1 WHERE event_id = ?", [(str(e),) for e in fact.event_ids]
                )
        flush()
        c.executemany(
            "INSERT INTO record_heads VALUES (?, ?, ?) ON CONFLICT (child_id) DO UPDATE SET position = excluded.position, "
            "marked = CASE WHEN excluded.marked > record_heads.marked THEN excluded.marked ELSE record_heads.marked END",
            [(child, position, marked) for child, (position, marked) in heads.items()],
        )


def _erase(c: ViewCursor, fact: RecordErased) -> None:
    """Nothing of the child stays but the fact that it was erased (no personal data)."""
    child = str(fact.child_id)
    for table in ("record_items", "guardianships", "children", "record_heads"):
        c.execute(f"DELETE FROM {table} WHERE child_id = ?", (child,))  # noqa: S608 - our tables
    c.execute(
        "INSERT INTO erased_children VALUES (?, ?, ?, ?) ON CONFLICT (child_id) DO NOTHING",
        (child, fact.tenant_id, fact.occurred_at.isoformat(), fact.actor.user_id),
    )


def _rows(fact: Event, position: int, seal: Callable[[UUID, Any], str], child: str) -> list[tuple[Any, ...]]:
    """One row per category the fact carries something in; the fields sealed. What every
    row of the fact shares is made once (a rebuild makes these rows for nearly every fact)."""
    groups = [(c, fields) for c, fields in fact.split_by_category().items() if any(v not in _EMPTY for v in fields.values())]
    if not groups:
        return []
    actor, child_id = fact.actor, fact.child_id
    head = (child, position, str(fact.event_id), fact.type_name)
    shared = (actor.unit_id, _sent_to(fact), fact.occurred_at.isoformat(), actor.user_id, _ROLE[actor.role],
              int(fact.withheld_from_guardians))
    return [(*head, _CATEGORY[category], *shared, seal(child_id, fields)) for category, fields in groups]


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
    decisions = dict(zip(items, decide_each(viewer, facts, [i.information() for i in items], at, rules), strict=True))
    return VisibleRecord(tuple(i for i in items if decisions[i].allowed), decisions)

