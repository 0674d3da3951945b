"""One child's story as steps: each a command of the hub, by one of the people in it, at a
moment later than the one before.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from consent import age_on
from contracts.vocabulary import SWEDISH_TIME, Area, PartyKind, age_group_for
from hub.demo.directory import TENANT_ID
from hub.demo.planner import QUIET_HOUR, ChildPlan, ChildState, Planner, Step
from hub.demo.words import CHILD_VIEWS, GOALS, GUARDIAN_VIEWS, SUMMARIES
from hub.errors import ChildNotFoundError, NoBasisError

if TYPE_CHECKING:
    from hub.demo.loader import Run


class Story:
    """One child's steps, each at a moment later than the one before."""

    def __init__(self, planner: Planner, plan: ChildPlan, start: date, *, school: bool) -> None:
        self.p = planner
        self.plan = plan
        self.rng = planner.rng
        self.school = school
        self.t = planner.moment(start, school=school)
        self.seq = 0
        self.bk: str | None = None

    @property
    def day(self) -> date:
        return self.t.astimezone(SWEDISH_TIME).date()

    def age(self) -> int:
        return age_on(self.plan.person.birth_date, self.day)

    def add(self, label: str, run: Callable[[Run, ChildState], None], *, after: tuple[int, int] = (0, 0), on: date | None = None) -> None:
        if on is not None:
            moment = self.p.moment(on, school=self.school)
        elif after == (0, 0):
            moment = self.t + timedelta(minutes=self.rng.randint(5, 40))
        else:
            moment = self.p.moment(self.day + timedelta(days=self.rng.randint(*after)), school=self.school)
        if moment <= self.t:
            moment = self.t + timedelta(minutes=self.rng.randint(5, 40))
        self.t = moment
        if moment >= self.p.until - QUIET_HOUR:
            return
        self.plan.steps.append(Step(moment, self.plan.index, self.seq, label, run))
        self.seq += 1

    # the hub's commands, as steps ------------------------------------------------------

    def register(self, by: str) -> None:
        person, guardians = self.plan.person, self.plan.guardians

        def run(r: Run, s: ChildState) -> None:
            s.child_id = r.hub.register_child(
                r.staff(by),
                personnummer=person.personnummer,
                given_name=person.given_name,
                family_name=person.family_name,
                guardians=[
                    {"name": g.person.name, "personnummer": g.person.personnummer, "has_custody": g.has_custody}
                    for g in guardians
                ],
            )

        self.add("register_child", run)

    def card(self, by: str, to_unit: str, focus: list[Area], *, after: tuple[int, int] = (0, 0)) -> None:
        age = self.age()
        needs = self.p.unmet_needs(focus, age)
        questions = self.p.five_questions(focus)
        own = self.rng.choice(("", "Extra vuxenstöd i vardagen.", "Samtal med vårdnadshavarna vid hämtning.", "Anpassat schema under två veckor."))

        def run(r: Run, s: ChildState) -> None:
            s.cards.append(
                r.hub.submit_discovery_card(
                    r.staff(by), s.child_id, to_unit_id=to_unit, unmet_needs=needs, five_questions=questions,
                    own_support_taken=own, guardians_informed=True,
                ).card_id
            )

        self.add("submit_discovery_card", run, after=after)

    def assign(self, bk: str, *, after: tuple[int, int] = (1, 8)) -> None:
        self.bk = bk
        self.add("assign_barnkontakt", lambda r, s: r.hub.assign_barnkontakt(r.staff(bk), s.child_id, staff_id=bk), after=after)

    def delegate(self, to: str, *, after: tuple[int, int] = (2, 10)) -> None:
        by = self.bk
        self.bk = to
        reason = self.rng.choice(("Biträdande rektor har redan kontakt med familjen.", "Fördelning av ärenden inför ny termin.", "Kollegan känner barnet bäst."))
        self.add(
            "delegate_barnkontakt",
            lambda r, s: r.hub.delegate_barnkontakt(r.staff(by), s.child_id, staff_id=to, reason=reason),
            after=after,
        )

    def feedback(self, *, after: tuple[int, int] = (2, 12)) -> None:
        bk = self.bk
        message = self.rng.choice(
            (
                "Tack för kortet. Vi har träffat familjen och går vidare med samtal.",
                "Barnkontakten har tagit emot kortet och kallar till barnsamtal.",
                "Vi har pratat med barnet och vårdnadshavarna; vi återkommer efter beslut.",
            )
        )
        self.add("send_feedback", lambda r, s: r.hub.send_feedback(r.staff(bk), s.child_id, card_id=s.cards[-1], message=message), after=after)

    def conversation(self, with_whom: str, focus: list[Area], *, after: tuple[int, int] = (4, 18), by: str | None = None) -> None:
        owner = by or self.bk
        views_pool = CHILD_VIEWS if with_whom == "child" else GUARDIAN_VIEWS
        payload = {
            "with_whom": with_whom,
            "age_group": age_group_for(self.age()).value,
            "views": [{"area": a.value, "view": self.rng.choice(views_pool[a])} for a in focus],
            "digital_survey": with_whom == "guardian" and self.rng.random() < 0.4,
            "summary": self.rng.choice(
                (
                    "Samtal enligt samtalsunderlaget; barnet deltog aktivt." if with_whom == "child" else "Vårdnadshavarna delar oron och vill ha stöd.",
                    "Samtalet gick lugnt; vi använde samtalskorten." if with_whom == "child" else "Vårdnadshavarna svarade digitalt på frågorna inför mötet.",
                )
            ),
        }
        custodial = [g.person for g in self.plan.guardians if g.has_custody]
        if not (with_whom == "guardian" and custodial and payload["views"]):
            self.add("hold_conversation", lambda r, s: r.hub.hold_conversation(r.staff(owner), s.child_id, **payload), after=after)
            return
        person = custodial[0]

        def digital(r: Run, s: ChildState) -> None:
            """The guardian answers on their phone through the Barnkontakt's invitation; the
            first one of the demo went to the wrong guardian first and was withdrawn, so
            that one is digital whatever the draw said."""
            if not (payload["digital_survey"] or not r.invitation_withdrawn):
                r.hub.hold_conversation(r.staff(owner), s.child_id, **payload)
                return
            guardian = r.guardian(person.personnummer).party_id
            invite = {"with_whom": "guardian", "guardian_id": guardian, "age_group": payload["age_group"]}
            if not any(g.guardian_id == guardian and g.custodial for g in r.hub.child_facts(r.staff(owner), s.child_id).guardians):
                r.hub.hold_conversation(r.staff(owner), s.child_id, **payload)  # no confirmed custody: recorded by hand
                return
            if not r.invitation_withdrawn:
                wrong = r.hub.invite_to_conversation(r.staff(owner), s.child_id, **invite)
                r.hub.withdraw_conversation_invitation(r.staff(owner), s.child_id, wrong.invitation_id)
                r.invitation_withdrawn = True
            made = r.hub.invite_to_conversation(r.staff(owner), s.child_id, **invite)
            r.hub.answer_conversation_invitation(made.code, views=payload["views"], summary=payload["summary"])

        self.add("hold_conversation", digital, after=after)

    def consent(self, key: str, units: list[str], categories: list[str], purpose: str, *, valid_days: int | None = None, by_kind: bool = False, after: tuple[int, int] = (2, 8)) -> None:
        owner = self.bk
        recipients: list[dict[str, Any]] = []
        for u in units:
            if by_kind:
                kind = self.p.tenant.units[u].kind.value
                recipients.append({"unit_kind": kind})
            else:
                recipients.append({"unit_id": u})

        def run(r: Run, s: ChildState) -> None:
            until = r.hub.now() + timedelta(days=valid_days) if valid_days else None
            s.consents[key] = r.hub.request_consent(
                r.staff(owner), s.child_id, recipients=recipients, categories=categories, purpose=purpose, valid_until=until
            )

        self.add("request_consent", run, after=after)

    def answer(self, key: str, party: str, verb: str, *, after: tuple[int, int] = (1, 6)) -> None:
        """``party`` is ``g0``/``g1`` (the custodial guardians in order) or ``child``.

        The child answers only when the rules ask for its consent at that moment.
        """
        custodial = [g.person for g in self.plan.guardians if g.has_custody]
        if party != "child" and int(party[1:]) >= len(custodial):
            return
        person = self.plan.person if party == "child" else custodial[int(party[1:])]

        def run(r: Run, s: ChildState) -> None:
            if party == "child":
                if (PartyKind.CHILD, str(s.child_id)) not in r.required_parties(s.child_id):
                    return
                principal = r.child(s.child_id)
            else:
                principal = r.guardian(person.personnummer)
            getattr(r.hub, f"{verb}_consent")(principal, s.child_id, s.consents[key])

        self.add(f"{verb}_consent", run, after=after)

    def answer_all(self, key: str, verb: str = "grant") -> None:
        for party in ("g0", "g1", "child"):
            self.answer(key, party, verb)

    def decide(self, decision: str, members: list[str], shared: list[str], rationale: str, *, after: tuple[int, int] = (1, 7)) -> None:
        owner = self.bk
        team = decision != "own_support"
        self.add(
            "decide_team",
            lambda r, s: r.hub.decide_team(
                r.staff(owner), s.child_id, decision=decision, family_informed=True,
                shared_categories=shared if team else [], member_unit_ids=members if team else [], rationale=rationale,
            ),
            after=after,
        )

    def rate(self, by: str, focus: list[Area], *, after: tuple[int, int] = (2, 10)) -> None:
        late = self.day + timedelta(days=after[1] + 1)
        scores = self.p.ratings(focus, {age_group_for(self.age()), age_group_for(age_on(self.plan.person.birth_date, late))})
        self.add("submit_rating", lambda r, s: r.hub.submit_rating(r.staff(by), s.child_id, scores=scores), after=after)

    def meeting(self, units: list[str], advice: str, *, by: str | None = None, after: tuple[int, int] = (1, 6)) -> None:
        owner = by or self.bk
        self.add(
            "hold_team_meeting",
            lambda r, s: r.hub.hold_team_meeting(r.staff(owner), s.child_id, participant_unit_ids=units, advice=advice),
            after=after,
        )

    def read(self, by: str, purpose: str, *, denied_ok: bool = False, after: tuple[int, int] = (0, 3)) -> None:
        def run(r: Run, s: ChildState) -> None:
            try:
                r.hub.read_child(r.staff(by), s.child_id, purpose=purpose)
            except (NoBasisError, ChildNotFoundError):
                if not denied_ok:
                    raise

        self.add("read_child", run, after=after)

    def summary(self, by: str, kind: str, *, after: tuple[int, int] = (2, 10)) -> None:
        text = self.rng.choice(SUMMARIES[kind])
        self.add("share_agency_summary", lambda r, s: r.hub.share_agency_summary(r.staff(by), s.child_id, **{kind: text}), after=after)

    def withhold(self, by: str, *, after: tuple[int, int] = (1, 5)) -> None:
        def run(r: Run, s: ChildState) -> None:
            record = r.hub.read_child(r.staff(by), s.child_id, purpose="Sekretessprövning mot vårdnadshavare")
            unit = r.hub.directory.staff(TENANT_ID, by).unit_id
            ids = [i.event_id for i in record.of_type("AgencySummaryShared") if i.unit_id == unit]
            if ids:
                r.hub.withhold_information(
                    r.staff(by), s.child_id, event_ids=ids[-1:],
                    reason="Uppgiften omfattas av sekretess mot vårdnadshavarna (OSL 12 kap. 3 §).",
                )

        self.add("withhold_information", run, after=after)

    def coordinator(self, staff_id: str, *, after: tuple[int, int] = (1, 7)) -> None:
        owner = self.bk
        self.add("assign_support_coordinator", lambda r, s: r.hub.assign_support_coordinator(r.staff(owner), s.child_id, staff_id=staff_id), after=after)

    def plan_update(self, by: str, focus: list[Area], actions: list[dict[str, Any]], follow_up: date | None, *, after: tuple[int, int] = (5, 14), on: date | None = None) -> None:
        goals = [{"area": a.value, "goal": GOALS[a]} for a in focus]
        child_view = self.rng.choice(("Jag vill att det ska kännas bättre i skolan.", "Jag vill ha någon att prata med.", "Jag vill vara med och bestämma."))
        guardian_view = self.rng.choice(("Vi vill ha en kontaktperson som håller ihop.", "Vi vill ha tät återkoppling.", "Vi är nöjda med planen."))
        payload = {"goals": goals, "actions": actions, "child_view": child_view, "guardian_view": guardian_view, "next_follow_up": follow_up}
        self.add("update_plan", lambda r, s: r.hub.update_plan(r.staff(by), s.child_id, **payload), after=after, on=on)

    def complete(self, by: str, action_id: str, *, on: date | None = None, after: tuple[int, int] = (5, 20)) -> None:
        note = self.rng.choice(("Genomfört enligt plan.", "Klart; fungerar bra för barnet.", "Genomfört, följs upp på nästa möte."))
        self.add("complete_plan_action", lambda r, s: r.hub.complete_plan_action(r.staff(by), s.child_id, action_id=action_id, note=note), on=on, after=after)

    def follow_up(self, by: str, focus: list[Area], *, after: tuple[int, int] = (30, 60), on: date | None = None) -> None:
        summary = self.rng.choice(("Uppföljande samtal: det går åt rätt håll.", "Uppföljning med barn och vårdnadshavare; stödet fortsätter.", "Barnet säger att det känns bättre."))
        compass = self.p.compass(focus, met=False)
        self.add("hold_follow_up", lambda r, s: r.hub.hold_follow_up(r.staff(by), s.child_id, summary=summary, compass=compass), after=after, on=on)

    def needs_met(self, by: str, focus: list[Area], *, after: tuple[int, int] = (20, 60)) -> None:
        compass = self.p.compass(focus, met=True)
        summary = self.rng.choice(("Uppföljande Behovskompass visar att behoven är tillgodosedda.", "Barnet och vårdnadshavarna är nöjda; ärendet avslutas."))

        def run(r: Run, s: ChildState) -> None:
            status = r.hub.closure_status(r.staff(by), s.child_id)
            closing = [{"action_id": a.action_id, "reason": "Behövs inte längre: behoven är tillgodosedda."} for a in status.open_actions]
            r.hub.record_needs_met(r.staff(by), s.child_id, follow_up_compass=compass, summary=summary, closed_actions=closing)

        self.add("record_needs_met", run, after=after)

    def concern(self, by: str, focus: list[Area], *, acute: bool, after: tuple[int, int] = (0, 0)) -> None:
        needs = self.p.unmet_needs(focus, self.age())
        description = self.rng.choice(
            (
                "Barnet har vid flera tillfällen berättat om våld i hemmet.",
                "Barnet kommer upprepat hungrigt och utan kläder efter väder; vårdnadshavarna nås inte.",
                "Barnet har påträffats sent på kvällen i centrum i sällskap med äldre ungdomar.",
                "Stark oro för barnets hemsituation efter samtal med barnet.",
            )
        )
        self.add(
            "file_concern_report",
            lambda r, s: r.hub.file_concern_report(r.staff(by), s.child_id, to_unit_id="soc-ystad", unmet_needs=needs, description=description, acute=acute),
            after=after,
        )

    def home_visit(self, by: str, visit: int, on: date) -> None:
        notes = self.rng.choice(("Besöket genomfört tillsammans med föräldrarådgivare.", "Familjen mår bra; samtal om sömn och amning.", "Samtal om lek och samspel.", "Föräldrarna har frågor om vardagsrutiner."))
        self.add("record_home_visit", lambda r, s: r.hub.record_home_visit(r.staff(by), s.child_id, visit=visit, notes=notes), on=on)

    def family_looks(self, party: str = "g0", *, after: tuple[int, int] = (1, 20)) -> None:
        custodial = [g.person for g in self.plan.guardians if g.has_custody]
        person = custodial[0] if party == "g0" or len(custodial) < 2 else custodial[1]

        def run(r: Run, s: ChildState) -> None:
            p = r.guardian(person.personnummer)
            r.hub.read_child(p, s.child_id, purpose="Vårdnadshavare ser sitt barns uppgifter", view="family_view")
            r.hub.family_access_log(p, s.child_id)

        self.add("family_reads", run, after=after)


__all__ = [
    "Story",
]
