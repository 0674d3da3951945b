"""The demo's stories, from a newborn's home visits to an individual team with a plan, a
consent declined, withdrawn, expired or awaited, a concern report and a card nobody took
up; the first children cover every step, the rest are drawn by weight.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from contracts.vocabulary import Area, UnitKind
from hub.demo.directory import COORDINATORS, SETTINGS, TENANT_ID, Setting
from hub.demo.planner import ChildPlan, Planner
from hub.demo.story import Story
from hub.demo.words import ACTIONS_BY_KIND, PURPOSES
from hub.identity.directory import Directory


def plan_actions(planner: Planner, units: list[str], plan_day: date, dues: list[int], focus: list[Area]) -> list[dict[str, Any]]:
    actions = []
    for i, (unit_id, due_in) in enumerate(zip(units, dues, strict=False)):
        unit = planner.tenant.units[unit_id]
        responsible = planner.staff_at(unit_id)
        actions.append(
            {
                "action_id": f"a{i + 1}",
                "what": planner.rng.choice(ACTIONS_BY_KIND.get(unit.kind, ("Stöd enligt överenskommelse",))),
                "unit_id": unit_id,
                "responsible_person": f"{responsible.name}, {responsible.title.lower()}",
                "due": (plan_day + timedelta(days=due_in)).isoformat(),
                "area": focus[i % len(focus)].value,
            }
        )
    return actions


def shared_categories(units: list[str], directory: Directory, *, plan: bool) -> list[str]:
    cats = ["identity", "needs", "conversations", "team", "ratings"]
    kinds = {directory.tenants[TENANT_ID].units[u].kind for u in units}
    if kinds & {UnitKind.BVC, UnitKind.BUP, UnitKind.FIRST_LINE_PSYCHIATRY, UnitKind.HAB, UnitKind.MIDWIFE_CLINIC}:
        cats.append("health")
    if UnitKind.POLICE in kinds:
        cats.append("police")
    if UnitKind.SOCIAL_SERVICES in kinds:
        cats.append("social_services")
    if plan:
        cats.append("plan")
    return cats


class Stories:
    """Each story plans one child's steps from its start to at most the moment of the load."""

    def __init__(self, planner: Planner) -> None:
        self.p = planner
        self.rng = planner.rng

    # the child and its setting ----------------------------------------------------------

    def new_child(self, index: int, story: str, setting_id: str | None, start: date, *, age: int | None = None, birth: date | None = None, family: str | None = None) -> tuple[ChildPlan, Story]:
        if birth is None:
            setting = SETTINGS[setting_id] if setting_id else None
            lo, hi = setting.ages if setting else (1, 15)
            years = age if age is not None else self.rng.randint(lo, hi)
            birth = start - timedelta(days=years * 365 + self.rng.randint(10 if years == 0 else 0, 300))
        person = self.p.child_person(birth)
        guardians = self.p.guardians_for(birth, person.family_name, family)
        if self.p.sibling:
            person.family_name = guardians[0].person.family_name  # a sibling takes the family's name
        plan = ChildPlan(index, story, person, guardians, setting_id)
        school = setting_id is not None and setting_id.startswith(("skola", "forskola"))
        return plan, Story(self.p, plan, start, school=school)

    def discovery(self, s: Story, setting: Setting, focus: list[Area], *, by: str | None = None, feedback: bool | None = None, delegate: bool | None = None) -> None:
        discoverer = by or self.rng.choice(setting.discoverers)
        s.register(discoverer)
        s.card(discoverer, setting.unit_id, focus)
        s.assign(setting.barnkontakter[0] if len(setting.barnkontakter) == 1 or self.rng.random() < 0.7 else setting.barnkontakter[1])
        if delegate if delegate is not None else (len(setting.barnkontakter) > 1 and self.rng.random() < 0.15):
            other = [b for b in setting.barnkontakter if b != s.bk]
            if other:
                s.delegate(other[0])
        same_person = discoverer in setting.barnkontakter
        send = feedback if feedback is not None else self.rng.random() < 0.85
        if send and not same_person:
            s.feedback()

    def conversations(self, s: Story, focus: list[Area]) -> None:
        if s.age() >= 3:
            s.conversation("child", focus)
            if self.rng.random() < 0.8:
                s.conversation("guardian", focus, after=(0, 10))
        else:
            s.conversation("guardian", focus)

    def team_path(self, s: Story, setting: Setting, focus: list[Area], members: list[str], *, decision: str, plan: bool, consent_key: str = "c1", valid_days: int | None = None) -> bool:
        """Consent, decision, ratings and meeting. False when the consent was not granted."""
        cats = shared_categories(members, self.p.directory, plan=plan)
        s.consent(consent_key, members, cats, self.rng.choice(PURPOSES), valid_days=valid_days, by_kind=self.rng.random() < 0.2)
        s.answer_all(consent_key, "grant")
        rationale = self.rng.choice(("Behoven spänner över flera verksamheter.", "Barnet behöver samordnat stöd.", "Flera verksamheter ser samma oro."))
        s.decide(decision, members, cats, rationale)
        for unit_id in members:
            if self.rng.random() < 0.35:
                s.read(self.p.staff_at(unit_id).user_id, "Förberedelse inför barnteamsmöte", after=(0, 4))
        for unit_id in [setting.unit_id, *members]:
            if unit_id == setting.unit_id:
                rater = s.bk or setting.barnkontakter[0]
            else:
                rater = self.p.staff_at(unit_id).user_id
            if unit_id == setting.unit_id or self.rng.random() < 0.85:
                s.rate(rater, focus, after=(1, 8))
        s.meeting([setting.unit_id, *members], self.rng.choice(("Barnteamet föreslår stöd i skolan och samtal.", "Fortsatt stöd från elevhälsan och föräldrastöd.", "Teamet rekommenderar ett individuellt barnteam om det inte vänder.")))
        return True

    def summaries(self, s: Story, members: list[str]) -> None:
        for unit_id in members:
            kind = self.p.tenant.units[unit_id].kind
            if self.rng.random() > 0.45:
                continue
            if kind is UnitKind.POLICE:
                s.summary(self.p.staff_at(unit_id).user_id, "police")
            elif kind is UnitKind.SOCIAL_SERVICES:
                s.summary(self.p.staff_at(unit_id).user_id, "social_services")
            elif kind in (UnitKind.BUP, UnitKind.FIRST_LINE_PSYCHIATRY, UnitKind.HAB, UnitKind.BVC):
                s.summary(self.p.staff_at(unit_id).user_id, "health")

    # the stories -------------------------------------------------------------------------

    def home_visits(self, index: int, *, birth: date | None = None, with_card: bool | None = None) -> ChildPlan:
        born = birth or self.p.start_day(self.p.window_start, self.p.until_day - timedelta(days=10))
        plan, s = self.new_child(index, "home_visits", "bvc-ystad", born, birth=born)
        s.school = False
        nurse = self.rng.choice(("karin.holm", "sara.nilsson"))
        first = born + timedelta(days=self.rng.randint(5, 12))
        s.t = self.p.moment(first)
        s.register(nurse)
        offsets = {1: 0, 2: self.rng.randint(45, 70), 3: self.rng.randint(110, 130), 4: self.rng.randint(230, 250), 5: self.rng.randint(320, 345), 6: self.rng.randint(440, 470)}
        for visit, days in offsets.items():
            by = "nadia.elmi" if visit in (2, 5) else nurse
            if visit > 1 and self.rng.random() < 0.08:
                continue  # the family declined this visit
            s.home_visit(by, visit, first + timedelta(days=days))
            if visit == 3 and (with_card if with_card is not None else self.rng.random() < 0.2):
                focus = [self.rng.choice((Area.OMVARDAD, Area.HALSA, Area.TILLHORIGHET))]
                s.card(nurse, "bvc-ystad", focus, after=(1, 10))
                s.assign(nurse, after=(1, 4))
                s.conversation("guardian", focus)
                s.decide("own_support", [], [], "BVC ger eget stöd med tätare besök.")
                s.follow_up(nurse, focus, after=(20, 30))
                if self.rng.random() < 0.85:
                    s.needs_met(nurse, focus, after=(10, 28))
        plan.story = "home_visits" + ("_with_card" if any(st.label == "submit_discovery_card" for st in plan.steps) else "")
        return plan

    def pick_setting(self, *, school_only: bool = False) -> Setting:
        ids = list(SETTINGS)
        weights = [1, 3, 2, 4, 3, 4]
        if school_only:
            weights = [0, 0, 0, 4, 3, 4]
        return SETTINGS[self.rng.choices(ids, weights)[0]]

    def own_support(self, index: int, *, setting: Setting | None = None, start: date | None = None, by: str | None = None, met: bool | None = None, family: str | None = None) -> ChildPlan:
        setting = setting or self.pick_setting()
        plan, s = self.new_child(index, "own_support", setting.unit_id, start or self.p.start_day(), family=family)
        focus = self.p.focus(s.age(), self.rng.choice((1, 1, 2)))
        self.discovery(s, setting, focus, by=by)
        self.conversations(s, focus)
        s.decide("own_support", [], [], self.rng.choice(("Verksamheten ger stödet själv.", "Behoven kan mötas med eget stöd.", "Vårdnadshavarna vill pröva eget stöd först.")))
        s.follow_up(s.bk or setting.barnkontakter[0], focus, after=(20, 30))
        if met if met is not None else self.rng.random() < 0.9:
            s.needs_met(s.bk or setting.barnkontakter[0], focus, after=(10, 28))
        return plan

    def barnteam(self, index: int, *, setting: Setting | None = None, start: date | None = None, by: str | None = None, met: bool | None = None, valid_days: int | None = None, story: str = "barnteam", denied_reader: str | None = None, feedback: bool | None = None) -> ChildPlan:
        setting = setting or self.pick_setting()
        plan, s = self.new_child(index, story, setting.unit_id, start or self.p.start_day())
        focus = self.p.focus(s.age())
        members = self.p.team(setting, focus, s.age())
        self.discovery(s, setting, focus, by=by, feedback=feedback)
        self.conversations(s, focus)
        self.team_path(s, setting, focus, members, decision="barnteam", plan=False, valid_days=valid_days)
        if denied_reader is not None:
            # a unit outside the consent asks: refused, and the refusal is in the access log
            s.read(denied_reader, "Inför samverkansmöte", denied_ok=True, after=(2, 10))
        self.summaries(s, members)
        if self.rng.random() < 0.3:
            s.family_looks(after=(3, 20))
        s.follow_up(s.bk or setting.barnkontakter[0], focus, after=(20, 30))
        if met if met is not None else self.rng.random() < 0.85:
            s.needs_met(s.bk or setting.barnkontakter[0], focus, after=(10, 28))
        return plan

    def individual(self, index: int, *, setting: Setting | None = None, start: date | None = None, by: str | None = None, overdue: bool = False, met: bool | None = None, age: int | None = None, withhold: bool = False, delegate: bool | None = None) -> ChildPlan:
        setting = setting or self.pick_setting()
        plan, s = self.new_child(index, "individual_team" + ("_overdue" if overdue else ""), setting.unit_id, start or self.p.start_day(), age=age)
        focus = self.p.focus(s.age(), self.rng.choice((2, 3)))
        members = self.p.team(setting, focus, s.age())
        coordinator_unit = next((u for u in members if u in COORDINATORS), None)
        if coordinator_unit is None:
            coordinator_unit = "soc-ystad" if "soc-ystad" in setting.team_units else "elevhalsa-ystad"
            members = [*members[:2], coordinator_unit]
        if withhold and "soc-ystad" not in members:
            members = [*members[:2], "soc-ystad"]
        self.discovery(s, setting, focus, by=by, delegate=delegate)
        self.conversations(s, focus)
        if self.rng.random() < 0.5 or overdue:
            self.team_path(s, setting, focus, members, decision="barnteam", plan=False)
            s.consent("c2", members, shared_categories(members, self.p.directory, plan=True), "Individuellt barnteam och barnets plan", after=(7, 20))
            s.answer_all("c2", "grant")
            s.decide("individual_team", members, shared_categories(members, self.p.directory, plan=True), "Stödet behöver samordnas i ett individuellt barnteam.")
        else:
            self.team_path(s, setting, focus, members, decision="individual_team", plan=True)
        coordinator = COORDINATORS[coordinator_unit]
        s.coordinator(coordinator)
        if withhold and "soc-ystad" in members:
            s.summary("jonas.wikstrom", "social_services")
            s.withhold("jonas.wikstrom")
        else:
            self.summaries(s, members)
        action_units = list(dict.fromkeys([setting.unit_id, *members]))[:4]
        if overdue:
            plan_day = self.p.until_day - timedelta(days=self.rng.randint(70, 85))
            dues = [self.rng.randint(20, 30), (self.p.until_day - plan_day).days - self.rng.randint(12, 20), (self.p.until_day - plan_day).days - self.rng.randint(2, 6), (self.p.until_day - plan_day).days + self.rng.randint(20, 40)]
            follow_up = self.p.until_day + timedelta(days=self.rng.randint(10, 25))
            actions = plan_actions(self.p, action_units, plan_day, dues, focus)
            s.plan_update(coordinator, focus, actions, follow_up, on=plan_day)
            s.complete(self.p.staff_at(actions[0]["unit_id"]).user_id if actions[0]["unit_id"] != setting.unit_id else (s.bk or coordinator), "a1", on=date.fromisoformat(actions[0]["due"]) - timedelta(days=2))
            if self.rng.random() < 0.5:
                s.family_looks(after=(1, 5))
            return plan
        plan_day = s.day + timedelta(days=self.rng.randint(7, 14))
        dues = [self.rng.randint(14, 45) for _ in action_units]
        follow_up = plan_day + timedelta(days=max(dues) + self.rng.randint(5, 20))
        actions = plan_actions(self.p, action_units, plan_day, dues, focus)
        s.plan_update(coordinator, focus, actions, follow_up, on=plan_day)
        self.carry_out(s, setting, coordinator, actions)
        s.follow_up(coordinator, focus, on=follow_up)
        if self.rng.random() < 0.4:
            # the follow-up adds a step to the plan
            revised_day = s.day + timedelta(days=self.rng.randint(1, 5))
            extra = plan_actions(self.p, [self.rng.choice(action_units)], revised_day, [self.rng.randint(20, 40)], focus)
            extra[0]["action_id"] = f"a{len(actions) + 1}"
            revised = [{**a, "status": "done"} for a in actions] + extra
            next_follow_up = revised_day + timedelta(days=self.rng.randint(45, 60))
            s.plan_update(coordinator, focus, revised, next_follow_up, on=revised_day)
            self.carry_out(s, setting, coordinator, extra)
            s.follow_up(coordinator, focus, on=next_follow_up)
        if self.rng.random() < 0.4:
            s.family_looks(after=(2, 15))
        if met if met is not None else self.rng.random() < 0.85:
            s.needs_met(coordinator, focus, after=(7, 25))
        return plan

    def carry_out(self, s: Story, setting: Setting, coordinator: str, actions: list[dict[str, Any]]) -> None:
        """Each unit completes its action around its due date; now and then weeks late."""
        for a in sorted(actions, key=lambda a: a["due"]):
            doer = s.bk if a["unit_id"] == setting.unit_id else self.p.staff_at(a["unit_id"]).user_id
            due = date.fromisoformat(a["due"])
            late = self.rng.randint(10, 40) if self.rng.random() < 0.25 else self.rng.randint(-6, 6)
            s.complete(doer or coordinator, a["action_id"], on=due + timedelta(days=late))

    def individual_overdue(self, index: int) -> ChildPlan:
        setting = self.pick_setting(school_only=True)
        return self.individual(index, setting=setting, start=self.p.until_day - timedelta(days=self.rng.randint(170, 230)), overdue=True)

    def consent_declined(self, index: int, *, setting: Setting | None = None, start: date | None = None) -> ChildPlan:
        setting = setting or self.pick_setting()
        plan, s = self.new_child(index, "consent_declined", setting.unit_id, start or self.p.start_day())
        focus = self.p.focus(s.age())
        members = self.p.team(setting, focus, s.age())
        self.discovery(s, setting, focus)
        self.conversations(s, focus)
        s.consent("c1", members, shared_categories(members, self.p.directory, plan=False), self.rng.choice(PURPOSES))
        custodial = sum(1 for g in plan.guardians if g.has_custody)
        if custodial > 1:
            s.answer("c1", "g0", "grant")
            s.answer("c1", "g1", "decline")
        else:
            s.answer("c1", "g0", "decline")
        s.decide("own_support", [], [], "Vårdnadshavare har avböjt samtycke; verksamheten ger eget stöd.", after=(2, 10))
        s.follow_up(s.bk or setting.barnkontakter[0], focus, after=(20, 30))
        if self.rng.random() < 0.8:
            s.needs_met(s.bk or setting.barnkontakter[0], focus, after=(10, 28))
        return plan

    def consent_withdrawn(self, index: int, *, setting: Setting | None = None, start: date | None = None) -> ChildPlan:
        setting = setting or self.pick_setting()
        plan, s = self.new_child(index, "consent_withdrawn", setting.unit_id, start or self.p.start_day())
        focus = self.p.focus(s.age())
        members = self.p.team(setting, focus, s.age())
        self.discovery(s, setting, focus)
        self.conversations(s, focus)
        self.team_path(s, setting, focus, members, decision="barnteam", plan=False)
        s.answer("c1", "g0", "withdraw", after=(10, 40))
        s.decide("own_support", [], [], "Samtycket är återkallat; verksamheten fortsätter med eget stöd.", after=(1, 7))
        s.family_looks(after=(1, 10))
        s.follow_up(s.bk or setting.barnkontakter[0], focus, after=(20, 30))
        if self.rng.random() < 0.8:
            s.needs_met(s.bk or setting.barnkontakter[0], focus, after=(10, 28))
        return plan

    def consent_pending(self, index: int, *, setting: Setting | None = None) -> ChildPlan:
        setting = setting or self.pick_setting()
        start = self.p.until_day - timedelta(days=self.rng.randint(30, 45))
        plan, s = self.new_child(index, "consent_pending", setting.unit_id, start)
        focus = self.p.focus(s.age())
        members = self.p.team(setting, focus, s.age())
        self.discovery(s, setting, focus)
        self.conversations(s, focus)
        s.consent("c1", members, shared_categories(members, self.p.directory, plan=False), self.rng.choice(PURPOSES), after=(1, 3))
        if sum(1 for g in plan.guardians if g.has_custody) > 1:
            s.answer("c1", "g0", "grant", after=(1, 2))  # the other guardian has not answered yet
        return plan

    def consent_expired(self, index: int, *, setting: Setting | None = None, start: date | None = None) -> ChildPlan:
        latest = self.p.until_day - timedelta(days=220)
        return self.barnteam(index, setting=setting, start=start or self.p.start_day(latest=latest), valid_days=self.rng.randint(75, 110), story="consent_expired")

    def no_owner(self, index: int, *, setting: Setting | None = None) -> ChildPlan:
        setting = setting or self.pick_setting(school_only=True)
        start = self.p.until_day - timedelta(days=self.rng.randint(12, 40))
        plan, s = self.new_child(index, "no_barnkontakt", setting.unit_id, start)
        focus = self.p.focus(s.age())
        by = self.rng.choice([d for d in setting.discoverers if d not in setting.barnkontakter])
        s.register(by)
        s.card(by, setting.unit_id, focus)
        return plan

    def stalled(self, index: int, *, setting: Setting | None = None) -> ChildPlan:
        setting = setting or self.pick_setting(school_only=True)
        start = self.p.until_day - timedelta(days=self.rng.randint(100, 140))
        plan, s = self.new_child(index, "stalled", setting.unit_id, start)
        focus = self.p.focus(s.age())
        self.discovery(s, setting, focus, feedback=False)
        s.conversation("child", focus, after=(5, 12))
        return plan

    def concern_report(self, index: int, *, setting: Setting | None = None, start: date | None = None) -> ChildPlan:
        setting = setting or self.pick_setting()
        plan, s = self.new_child(index, "concern_report", setting.unit_id, start or self.p.start_day())
        focus = [self.rng.choice((Area.TRYGGHET, Area.OMVARDAD))]
        reporter = self.rng.choice([d for d in setting.discoverers if self.p.tenant.staff[d].unit_id != "soc-ystad"])
        s.register(reporter)
        s.concern(reporter, focus, acute=self.rng.random() < 0.3)
        if self.rng.random() < 0.7:
            s.card(reporter, setting.unit_id, focus, after=(0, 3))
            s.assign(setting.barnkontakter[0])
            if reporter not in setting.barnkontakter:
                s.feedback()
            self.conversations(s, focus)
            s.decide("own_support", [], [], "Socialtjänsten utreder; skolan ger eget stöd under tiden.")
            s.follow_up(s.bk or setting.barnkontakter[0], focus, after=(20, 30))
            if self.rng.random() < 0.8:
                s.needs_met(s.bk or setting.barnkontakter[0], focus, after=(10, 28))
        return plan

    # the mix ----------------------------------------------------------------------------

    WEIGHTS = (
        ("home_visits", 14), ("own_support", 22), ("barnteam", 18), ("individual", 12), ("individual_overdue", 3),
        ("consent_declined", 5), ("consent_withdrawn", 4), ("consent_pending", 3), ("consent_expired", 3),
        ("no_owner", 3), ("stalled", 3), ("concern_report", 6),
    )

    def random_story(self, index: int) -> ChildPlan:
        names = [n for n, _ in self.WEIGHTS]
        weights = [w for _, w in self.WEIGHTS]
        name = self.rng.choices(names, weights)[0]
        return getattr(self, name)(index)

    def showcase(self, index: int) -> ChildPlan | None:
        """The first children cover every step, so that even a small demo shows them all."""
        norreport, vastervang = SETTINGS["skola-norreport"], SETTINGS["skola-vastervang"]
        edvinshem, solrosen, backen = SETTINGS["skola-edvinshem"], SETTINGS["forskola-solrosen"], SETTINGS["forskola-backen"]
        until = self.p.until_day
        builders: list[Callable[[], ChildPlan]] = [
            lambda: self.individual(index, setting=norreport, start=until - timedelta(days=200), by="mikael.forsberg", overdue=True, age=15, delegate=True),
            lambda: self.barnteam(index, setting=vastervang, start=until - timedelta(days=330), by="ingrid.sjoberg", met=True, denied_reader="mikael.forsberg", feedback=True),
            lambda: self.home_visits(index, birth=until - timedelta(days=260), with_card=False),
            lambda: self.own_support(index, setting=edvinshem, start=until - timedelta(days=420), by="oskar.lind", met=True, family="one_custody"),
            lambda: self.no_owner(index, setting=norreport),
            lambda: self.consent_declined(index, setting=solrosen, start=until - timedelta(days=300)),
            lambda: self.consent_withdrawn(index, setting=vastervang, start=until - timedelta(days=380)),
            lambda: self.individual(index, setting=edvinshem, start=until - timedelta(days=560), met=True, withhold=True),
            lambda: self.consent_pending(index, setting=backen),
            lambda: self.concern_report(index, setting=norreport, start=until - timedelta(days=150)),
            lambda: self.stalled(index, setting=norreport),
            lambda: self.consent_expired(index, setting=solrosen, start=until - timedelta(days=640)),
        ]
        if index >= len(builders):
            return None
        plan = builders[index]()
        plan.showcase = True
        return plan


__all__ = [
    "Stories",
    "plan_actions",
    "shared_categories",
]
