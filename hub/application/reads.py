"""Reads of a child and lists across children: each shows only what the policy allows now, and each read of a child is recorded."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Literal, TypeVar
from uuid import UUID

from consent import (
    ChildFacts,
    ConsentState,
    ConsentStatus,
    Information,
    PastRead,
    Secret,
    Viewer,
    ViewerKind,
    consent_status,
    decide,
    family_sees_read,
    required_parties,
)
from consent.disclosure import DisclosureRule, publishable
from consent.permissions import Action, Target, knows_child
from contracts.vocabulary import (
    SWEDISH_TIME,
    CardKind,
    Category,
    LegalBasis,
    PartyKind,
    Role,
)
from hub.application.caselist_search import CaseListTiming, groups_of, matches, search_terms
from hub.application.commands import FigureFilter
from hub.application.core import HubCore, traced
from hub.application.readmodels import (
    CaseRow,
    CaseScope,
    ChildView,
    ConsentOut,
    FamilyAccessEntry,
    FamilyChild,
    FigureCount,
    PartyAnswer,
    RecordItemOut,
    SentCard,
    TermFigures,
    Timeline,
    TimelineStep,
)
from hub.domain.child import Child
from hub.errors import (
    ChildNotFoundError,
    HubError,
    InvalidInputError,
    NoBasisError,
    RecordErasedError,
    StoreUnavailableError,
)
from hub.identity.principals import Principal
from projections.accesslog import AccessEntry
from projections.caselist import case_flags, concerns_person, concerns_unit
from projections.figures import BOUNDED_BY, FIGURE_NAMES, FIGURES, in_terms, term_order
from projections.record import RecordItem, VisibleRecord


class Reads(HubCore):
    """Reads of a child and lists across children: each shows only what the policy allows now, and each read of a child is recorded."""

    @traced("read")
    def read_child(self, p: Principal, child_id: UUID, *, purpose: str, view: str = "unit_view") -> ChildView:
        """A unit's or a family's view of one child: only what the policy allows now."""
        at = self.now()
        child, visible = self._visible(p, child_id, at, view=view, purpose=purpose)
        self._record_access(
            p,
            child_id,
            view=view,
            purpose=purpose,
            categories=visible.categories,
            bases=visible.bases,
            denied=visible.denied_categories,
            withheld=visible.touches_withheld,
            at=at,
        )
        if not visible.items:
            raise self._nothing_visible(p, child)
        items = [self._as_sent(p, _reporter_kept(p, child, _item(i, visible))) for i in visible.items]
        return ChildView(child_id=child_id, as_of=at, items=items)

    @traced("read")
    def timeline(self, p: Principal, child_id: UUID, *, purpose: str) -> Timeline:
        """The child's steps in order, as far as the viewer may see them."""
        at = self.now()
        child, visible = self._visible(p, child_id, at, view="timeline", purpose=purpose)
        steps: dict[int, list[RecordItem]] = {}
        for item in visible.items:
            steps.setdefault(item.position, []).append(item)
        self._record_access(
            p,
            child_id,
            view="timeline",
            purpose=purpose,
            categories=visible.categories,
            bases=visible.bases,
            denied=visible.denied_categories,
            withheld=visible.touches_withheld,
            at=at,
        )
        if not steps:
            raise self._nothing_visible(p, child)
        return Timeline(child_id=child_id, as_of=at, steps=[_reporter_kept(p, child, _step(steps[k])) for k in sorted(steps)])

    def _nothing_visible(self, p: Principal, child: Child) -> HubError:
        """Nothing to show: a viewer who may know of the child hears that there is no basis;
        anyone else hears what a child that does not exist would answer."""
        if knows_child(self.viewer(p), self.case_state(child), self.now(), self.rules):
            return NoBasisError("neither consent nor the law lets you see this child's information now")
        return ChildNotFoundError(child.id)

    def _card_kind(self, p: Principal, unit_id: str) -> CardKind:
        """Internal or external, as between the discoverer's unit and ``unit_id``."""
        own = self.directory.unit(p.tenant_id, p.unit_id or "")
        other = self.directory.unit(p.tenant_id, unit_id)
        return CardKind.INTERNAL if own.principal is other.principal else CardKind.EXTERNAL

    def _as_sent(self, p: Principal, item: RecordItemOut) -> RecordItemOut:
        """A discoverer's own card as they sent it: where a card went instead of the unit they
        named (to the child's Barnkontakt) would tell where the child's case is held, so the
        discoverer's unit is shown the unit it named. Feedback, when the Barnkontakt sends it,
        says who answered."""
        named = item.fields.get("named_unit_id")
        if item.type != "DiscoveryCardSubmitted" or not named or item.unit_id != p.unit_id:
            return item
        fields = {k: v for k, v in item.fields.items() if k != "named_unit_id"}
        if "to_unit_id" in fields:
            fields["to_unit_id"] = named
        if "kind" in fields:
            fields["kind"] = self._card_kind(p, named).value
        return item.model_copy(update={"fields": fields})

    @traced("read")
    def cards_sent_by(self, p: Principal) -> list[SentCard]:
        """The discovery cards this member of staff sent, newest first, each with whether the
        Barnkontakt has taken it up and sent feedback: what a discoverer follows up on. Ids,
        units and dates only, so nothing of the child is read here; the feedback itself is
        read (and recorded) on the child's page."""
        self._permit(p, Action.READ_OWN_CARDS)
        self._views_hold(self._committed_facts)
        out = []
        for doc in self.views.cases.documents(p.tenant_id):
            for card in doc["cards"]:
                if card.get("from_user_id") == p.user_id:
                    named = card.get("named_unit_id")
                    out.append(
                        SentCard(
                            child_id=doc["child_id"],
                            card_id=card["card_id"],
                            kind=self._card_kind(p, named) if named else card["kind"],
                            to_unit_id=named or card["to_unit_id"],
                            submitted_at=card["submitted_at"],
                            taken_up=card["feedback_sent"] if named else card["taken_up"],
                            feedback_sent=card["feedback_sent"],
                        )
                    )
        return sorted(out, key=lambda c: c.submitted_at, reverse=True)

    case_list_timing: CaseListTiming = CaseListTiming()
    """When consent counts as expiring and feedback as owed on the case list (from the settings)."""

    @traced("read")
    def case_list(
        self,
        p: Principal,
        *,
        purpose: str = "Barnkontakt case list",
        scope: CaseScope = CaseScope.UNIT,
        query: str = "",
    ) -> list[CaseRow]:
        """The children on the viewer's list ("Mina barn" or "Min enhets barn"), one row per
        child, with who does what next and the groups that need action. A ``query`` keeps the
        children whose name or personnummer matches, of those whose identity the viewer may
        see; each row answered is recorded as a read (a search as ``case_search``)."""
        self._permit(p, Action.READ_CASE_LIST)
        wanted = search_terms(query)
        unit_id, staff_id = p.unit_id or "", p.user_id
        at = self.now()
        today = at.astimezone(SWEDISH_TIME).date()
        timing = self.case_list_timing
        self._views_hold(self._committed_facts)
        viewer = self.viewer(p)
        is_barnkontakt = Role.BARNKONTAKT in p.roles
        rows = []
        for doc in self.views.cases.documents_of(p.tenant_id, unit_id=unit_id, staff_id=staff_id):
            mine = concerns_person(doc, staff_id, unit_id, is_barnkontakt=is_barnkontakt)
            if not mine and (scope is CaseScope.MINE or not concerns_unit(doc, unit_id)):
                continue
            flags = case_flags(doc, today, feedback_within=timedelta(days=timing.feedback_days))
            try:
                child = self._load(p.tenant_id, flags.child_id)
            except (ChildNotFoundError, RecordErasedError):
                continue  # erased by another process; the views drop it when they follow
            facts = child.facts()
            categories, bases = {Category.TEAM}, set()
            identity = self._identity(viewer, facts, flags.child_id, at)
            if identity is not None:
                categories.add(Category.IDENTITY)
                bases.add(identity[2])
            if wanted is not None and (identity is None or not matches(wanted, identity[0], identity[1])):
                continue
            step = flags.next_step
            if step is not None and step.what is not None:
                plan = decide(viewer, facts, Information(Category.PLAN, origin_unit_id=doc.get("plan_unit_id")), at, self.rules)
                if plan.allowed and plan.basis is not None:
                    categories.add(Category.PLAN)
                    bases.add(plan.basis)
                else:
                    step = replace(step, what=None, person=None)
            expiring, withdrawn = False, False
            for c in facts.consents:
                d = decide(viewer, facts, Information(Category.CONSENT, origin_unit_id=c.requested_by_unit_id), at, self.rules)
                if not d.allowed or d.basis is None:
                    continue
                categories.add(Category.CONSENT)
                bases.add(d.basis)
                status = consent_status(c, facts, at, self.rules)
                withdrawn = withdrawn or status is ConsentStatus.WITHDRAWN
                expiring = expiring or (
                    status is ConsentStatus.IN_EFFECT and c.valid_until - at <= timedelta(days=timing.consent_expiring_days)
                )
            self._record_access(
                p,
                flags.child_id,
                view="case_list" if wanted is None else "case_search",
                purpose=purpose,
                categories=sorted(categories, key=lambda x: x.value),
                bases=bases or {LegalBasis.SENT_TO_UNIT},
                at=at,
            )
            fields = asdict(flags)
            fields.update(next_step=asdict(step) if step is not None else None, unit_ids=list(flags.unit_ids))
            expiring, withdrawn = expiring and not flags.closed, withdrawn and not flags.closed
            rows.append(
                CaseRow(
                    **fields,
                    name=identity[0] if identity else None,
                    mine=mine,
                    consent_expiring=expiring,
                    consent_withdrawn=withdrawn,
                    groups=groups_of(flags, expiring=expiring, withdrawn=withdrawn),
                )
            )
        return rows

    def _identity(self, viewer: Viewer, facts: ChildFacts, child_id: UUID, at: datetime) -> tuple[str, str, LegalBasis] | None:
        """The child's name and personnummer, and the basis to see them, when the viewer may."""
        for item in self.views.record.items(child_id):
            if item.category is Category.IDENTITY and item.event_type.endswith("ChildRegistered"):
                d = decide(viewer, facts, item.information(), at, self.rules)
                if not d.allowed or d.basis is None:
                    return None
                name = f"{item.fields['given_name']} {item.fields['family_name']}"
                return name, str(item.fields.get("personnummer", "")), d.basis
        return None

    @traced("read")
    def family_children(self, p: Principal) -> list[FamilyChild]:
        """The children a guardian has custody of, or the child itself."""
        self._permit(p, Action.LIST_FAMILY_CHILDREN)
        self._views_hold(self._committed_facts)
        if p.kind is ViewerKind.GUARDIAN:
            ids = self.views.record.children_of_guardian(p.tenant_id, p.party_id or "")
        else:
            ids = [UUID(p.party_id)]
        out = []
        for child_id in ids:
            try:
                child = self._load(p.tenant_id, child_id)
            except (ChildNotFoundError, RecordErasedError):
                continue
            d = decide(self.viewer(p), child.facts(), Information(Category.IDENTITY), self.now(), self.rules)
            if d.allowed:
                out.append(FamilyChild(child_id=child_id))
        return out

    @traced("read")
    def consent_overview(self, p: Principal, child_id: UUID) -> list[ConsentOut]:
        """Each consent for the child: what, to whom, why, until when, who has answered."""
        at = self.now()
        child = self._load(p.tenant_id, child_id)
        facts = child.facts()
        viewer = self.viewer(p)
        needed = required_parties(facts, at, self.rules)
        out: list[ConsentOut] = []
        bases = set()
        for c in facts.consents:
            withheld = child.consent_requests.get(c.consent_id) in child.withheld  # kept from the family
            info = Information(Category.CONSENT, origin_unit_id=c.requested_by_unit_id, withheld_from_guardians=withheld)
            d = decide(viewer, facts, info, at, self.rules)
            if not d.allowed:
                continue
            bases.add(d.basis)
            out.append(
                ConsentOut(
                    consent_id=c.consent_id,
                    status=consent_status(c, facts, at, self.rules),
                    purpose=c.purpose,
                    categories=sorted(c.categories, key=lambda x: x.value),
                    recipient_unit_ids=sorted(c.recipient_unit_ids),
                    recipient_unit_kinds=sorted(c.recipient_unit_kinds, key=lambda k: k.value),
                    requested_by_unit_id=c.requested_by_unit_id,
                    valid_from=c.valid_from,
                    valid_until=c.valid_until,
                    parties=[
                        PartyAnswer(
                            kind=k,
                            party_id=pid,
                            answer=_answer(c, (k, pid)),
                            is_you=pid == p.party_id,
                        )
                        for k, pid in sorted(needed | c.granted | c.declined | c.withdrawn)
                    ],
                )
            )
        if not out:
            # No request yet, or none this viewer may see (one withheld from the family is
            # answered as none): only those who would see one (the case's own unit, the family)
            # may learn that there is none; to anyone else the answer must not differ from
            # a child whose consents they may not see.
            owner = child.barnkontakt[1] if child.barnkontakt else None
            d = decide(viewer, facts, Information(Category.CONSENT, origin_unit_id=owner), at, self.rules)
            if d.allowed and d.basis is not None:
                bases.add(d.basis)
        seen = bool(out) or bool(bases)
        self._record_access(
            p,
            child_id,
            view="consent_overview",
            purpose="consent overview",
            categories=[Category.CONSENT] if seen else [],
            bases=[b for b in bases if b],
            denied=[] if seen else [Category.CONSENT],
            at=at,
        )
        if not seen:
            raise self._nothing_visible(p, child)
        return out

    @traced("read")
    def family_access_log(self, p: Principal, child_id: UUID) -> list[FamilyAccessEntry]:
        """Who has seen the child's information: for the guardians and the child."""
        self._permit(p, Action.READ_FAMILY_ACCESS_LOG)
        at = self.now()
        child = self._load(p.tenant_id, child_id)
        d = decide(self.viewer(p), child.facts(), Information(Category.ACCESS_LOG), at, self.rules)
        if not d.allowed:
            self._record_access(
                p,
                child_id,
                view="family_access_log",
                purpose="who has seen my child's information",
                categories=[],
                bases=[],
                denied=[Category.ACCESS_LOG],
                at=at,
            )
            raise self._nothing_visible(p, child)
        self._views_hold(self._committed)
        secrets = _secrets(child, self.views.record.items(child_id))
        entries = [
            e
            for e in self.views.access.search(p.tenant_id, child_id=child_id, limit=10_000)
            if e.allowed and not e.withheld_from_guardians and family_sees_read(_past_read(e), secrets)
        ]
        self._record_access(
            p,
            child_id,
            view="family_access_log",
            purpose="who has seen my child's information",
            categories=[Category.ACCESS_LOG],
            bases=[d.basis] if d.basis else [],
            at=at,
        )
        return [self._family_entry(e) for e in entries]

    def _family_entry(self, e: AccessEntry) -> FamilyAccessEntry:
        unit_name = None
        if e.accessor_unit_id:
            unit_name = self.directory.tenants[e.tenant_id].units.get(e.accessor_unit_id)
        staff_name = None
        if self.rules.staff_names_visible_to_family and e.accessor_role not in (Role.GUARDIAN, Role.CHILD):
            staff = self.directory.tenants[e.tenant_id].staff.get(e.accessor_id)
            staff_name = staff.name if staff else None
        return FamilyAccessEntry(
            event_id=e.event_id,
            position=e.position,
            accessed_at=e.accessed_at,
            unit_id=e.accessor_unit_id,
            unit_name=unit_name.name if unit_name else None,
            role=e.accessor_role,
            staff_name=staff_name,
            purpose=e.purpose,
            categories=list(e.categories),
            bases=list(e.bases),
            view=e.view,
        )

    @traced("read")
    def term_figures(
        self, p: Principal, tenant: str, chosen: FigureFilter | None = None, *, unsuppressed: bool = False
    ) -> TermFigures:
        """The evaluation's figures per half-year term for a tenant, counted from the facts
        alone (:mod:`projections.figures`): for its staff and its administrator, as far as
        ``chosen`` asks. They are anonymous counts, so reading them reads no child; they are
        publishable (:mod:`consent.disclosure`, the area's rule) unless the area's
        administrator asks for them ``unsuppressed``, a view the area's log records."""
        self._permit(p, Action.READ_FIGURES, target=Target(tenant_id=tenant))
        if unsuppressed:
            self._permit(p, Action.READ_UNSUPPRESSED_FIGURES, target=Target(tenant_id=tenant))
        chosen = chosen or FigureFilter()
        if chosen.from_term and chosen.to_term and term_order(chosen.from_term) > term_order(chosen.to_term):
            raise InvalidInputError("the first term is after the last", field="from")
        figures = self.views.figures
        if figures is None:
            raise StoreUnavailableError("this hub keeps no figures")
        self._views_hold(self._committed_facts)
        area = self.directory.tenants.get(tenant)
        rule = area.disclosure if area is not None else DisclosureRule()
        counted = [FigureCount(**r) for r in figures.counts(tenant)]
        all_terms = sorted({r.term for r in counted}, key=term_order)
        every, totals = publishable_counts(counted, all_terms, None if unsuppressed else rule)
        if unsuppressed:
            self._record_unsuppressed(p, tenant, chosen)
        rows = [
            r for r in every
            if in_terms(r.term, chosen.from_term, chosen.to_term) and chosen.figure in (None, r.figure)
        ]
        terms = [t for t in all_terms if in_terms(t, chosen.from_term, chosen.to_term)]
        names = [chosen.figure] if chosen.figure else list(FIGURE_NAMES)
        return TermFigures(
            tenant_id=tenant, terms=terms, rows=rows, figures=names, all_terms=all_terms,
            totals=[r for r in totals if r.term in terms and r.figure in names],
            publishable=not unsuppressed, threshold=rule.threshold, rounding=rule.rounding,
        )


def publishable_counts(
    counted: list[FigureCount], terms: list[str], rule: DisclosureRule | None
) -> tuple[list[FigureCount], list[FigureCount]]:
    """Every term's figures, and the total of each figure of several parts, as they may be
    published (``rule``; none: unsuppressed). Each figure in each term is a table of its
    parts with the term's total, protected on its own, so that the hidden cells are the same
    whichever terms are shown and however many terms follow."""
    found = {(r.term, r.figure, r.key): r.count or 0 for r in counted}
    cells: list[FigureCount] = []
    totals: list[FigureCount] = []

    def shown(term: str, figure: str, key: str, n: int | None, hidden: bool = False) -> FigureCount:
        return FigureCount(term=term, figure=figure, key=key, count=n, suppressed=hidden)

    for term in terms:
        for figure, keys in FIGURES:
            numbers = [found.get((term, figure, key), 0) for key in keys]
            if rule is None:
                cells.extend(shown(term, figure, key, n) for key, n in zip(keys, numbers, strict=True))
                if len(keys) > 1:
                    totals.append(shown(term, figure, "", sum(numbers)))
                continue
            table = publishable([[n] for n in numbers], rule)
            for i, key in enumerate(keys):
                cells.append(shown(term, figure, key, table.values[i][0], (i, 0) in table.suppressed))
            if len(keys) > 1:
                totals.append(shown(term, figure, "", table.values[-1][0], (len(keys), 0) in table.suppressed))
    if rule is not None:
        cells = _hide_what_a_hidden_count_bounds(cells)
    return cells, totals


def _hide_what_a_hidden_count_bounds(cells: list[FigureCount]) -> list[FigureCount]:
    """A figure that a hidden count bounds is hidden with it (:data:`BOUNDED_BY`): the 3
    individual teams started in a term would show that the term's individual-team decisions,
    hidden, are at least 3, and so what the other hidden decisions are."""
    hidden = {(c.term, c.figure, c.key) for c in cells if c.count is None}
    return [
        c.model_copy(update={"count": None, "suppressed": True})
        if c.figure in BOUNDED_BY and (c.term, *BOUNDED_BY[c.figure]) in hidden
        else c
        for c in cells
    ]


def _secrets(child: Child, items: list[RecordItem]) -> list[Secret]:
    """What is kept from the family now: facts withheld from the guardians, and the
    concern reports whose reporter is. The child as loaded from the log says what was
    withheld later, even where the view has not followed yet."""
    out = []
    for i in items:
        if i.withheld_from_guardians or i.event_id in child.withheld:
            out.append(Secret(i.position, i.category, i.origin_unit_id, i.sent_to_unit_id))
        elif i.event_id in child.reporter_withheld and i.category is Category.CONCERN_REPORT:
            out.append(Secret(i.position, i.category, i.origin_unit_id, i.sent_to_unit_id, reporter_only=True))
    return out


def _past_read(e: AccessEntry) -> PastRead:
    return PastRead(e.position, e.accessor_unit_id, frozenset(e.categories), frozenset(e.bases))


Shown = TypeVar("Shown", RecordItemOut, TimelineStep)


def _reporter_kept(p: Principal, child: Child, shown: Shown) -> Shown:
    """A concern report whose reporter is withheld (OSL 26 kap. 5 §) shows no unit, except
    to the reporter's own unit and the social-services unit it was filed to."""
    if shown.event_id not in child.reporter_withheld:
        return shown
    if p.unit_id is not None and p.unit_id in (shown.unit_id, child.concern_reports.get(shown.event_id)):
        return shown
    return shown.model_copy(update={"unit_id": None})


def _item(item: RecordItem, visible: VisibleRecord) -> RecordItemOut:
    """The item as answered: built from values the view already typed, so not validated
    again (a read's cost per item stays small); its fields a copy of the view's."""
    return RecordItemOut.model_construct(
        event_id=item.event_id,
        type=_type_name(item),
        category=item.category,
        occurred_at=item.occurred_at,
        unit_id=item.origin_unit_id,
        basis=visible.decisions[item].basis,
        fields=dict(item.fields),
    )


def _step(parts: list[RecordItem]) -> TimelineStep:
    """One fact as a step: its categories shown, in the record's order."""
    first = parts[0]
    return TimelineStep(
        event_id=first.event_id,
        type=_type_name(first),
        occurred_at=first.occurred_at,
        unit_id=first.origin_unit_id,
        categories=[i.category for i in parts],
    )


def _answer(c: ConsentState, party: tuple[PartyKind, str]) -> Literal["awaiting", "granted", "declined", "withdrawn"]:
    """A party's answer to a consent: a withdrawal or a refusal outweighs an earlier yes."""
    if party in c.withdrawn:
        return "withdrawn"
    if party in c.declined:
        return "declined"
    return "granted" if party in c.granted else "awaiting"


def _type_name(item: RecordItem) -> str:
    return item.event_type.rsplit(".", 1)[-1]

