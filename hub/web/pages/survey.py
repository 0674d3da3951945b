"""The digital conversation's pages: the Barnkontakt makes a link and a code for the child or a
guardian, and follows the invitations; the child or guardian opens the link (or types the code
at ``/samtal``) on their own phone without signing in, and answers the age group's questions once.

The public pages show nothing of the child but the first name the invitation greets with.
Every link or code is counted against the caller's address (:meth:`Throttle.survey_code`)
whether it works or not, and one that does not work, for whatever reason, gets one plain
answer. Their forms carry an anti-forgery token bound to a cookie of the browser (the
sign-in forms' signed double-submit cookie), since there is no session to bind it to.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath
from litestar.response import Redirect, Template

from consent import age_on
from contracts.labels import label_key
from contracts.vocabulary import AgeGroup, Area, ConversationWith, age_group_for
from hub.application.surveys import InvitationMade, InvitationNotValidError, SurveyForm, invitation_statuses
from hub.http.auth import client_address
from hub.identity.principals import Principal
from hub.web.app import FORM_ID_FIELD, Form, Web
from hub.web.filters import day
from hub.web.pages.forms import FIELD_PROBLEMS, Problems, one, problems_from, same_field, yes_no
from hub.web.pages.staff import case_owner
from hub.web.session import Visitor

PUBLIC = "/samtal"
TOKEN_FIELD = "form_token"  # noqa: S105 - a field name
PURPOSE = "Digitalt samtal: inbjudningar och svar"
MAX_ANSWER = 4000
MAX_SUMMARY = 8000
SENT_ALREADY = (
    "The form was already sent: its link and code were shown then. If they are lost, withdraw that invitation below "
    "and make a new one."
)

YOUNG = frozenset({AgeGroup.AGE_7_9, AgeGroup.AGE_10_12})

CHILD_QUESTIONS: dict[Area, str] = {
    Area.TRYGGHET: "Do you feel safe at home, at school and on your way there? Is there anything that makes you scared?",
    Area.HALSA: "How do you feel in your body and in your head? How do you sleep and eat?",
    Area.UTVECKLAS: "What are you good at? Is there anything at school that feels hard?",
    Area.OMVARDAD: "Do you get food, clothes and help from the grown-ups at home when you need it?",
    Area.FRITID: "What do you like doing in your free time, and who do you do it with?",
    Area.RESPEKTERAS: "Do the grown-ups listen to you? Is anyone mean to you?",
    Area.ANSVARSTAGANDE: "How is it to be with others, and what do you do when something goes wrong?",
    Area.TILLHORIGHET: "Who are your friends, and who is important to you?",
}
"""The questions for a child of 7 to 12, one per compass area, in plain words."""

YOUTH_QUESTIONS: dict[Area, str] = {
    Area.TRYGGHET: "Do you feel safe at home, at school, online and where you live? Is there anything or anyone that worries you?",
    Area.HALSA: "How are you feeling, in body and mind? How are sleep, food and energy?",
    Area.UTVECKLAS: "How is school going, and what would you like to get better at?",
    Area.OMVARDAD: "Do you get the care and support you need at home?",
    Area.FRITID: "What do you do in your free time, and do you get time to rest?",
    Area.RESPEKTERAS: "Do you feel listened to and taken seriously, at home and at school?",
    Area.ANSVARSTAGANDE: "How do you handle difficulties, and is there anything you would like help with?",
    Area.TILLHORIGHET: "Do you have friends and adults who support you?",
}
"""The questions for a young person of 13 to 18."""

GUARDIAN_QUESTIONS: dict[Area, str] = {
    Area.TRYGGHET: "Does {name} seem safe at home, at preschool or school, and online?",
    Area.HALSA: "How is {name} doing with sleep, food, body and mood?",
    Area.UTVECKLAS: "How is {name} developing, and is there anything you are concerned about?",
    Area.OMVARDAD: "How is everyday life at home, and is there anything you would like support with?",
    Area.FRITID: "What does {name} like doing in their free time, and with whom?",
    Area.RESPEKTERAS: "Does {name} feel listened to, and are there friends who are kind to {name}?",
    Area.ANSVARSTAGANDE: "How does {name} handle difficulties and get on with others?",
    Area.TILLHORIGHET: "Who are the important people in your family's and {name}'s life?",
}
"""The questions for a guardian, about the child by its first name."""

ALL_QUESTIONS = (*CHILD_QUESTIONS.values(), *YOUTH_QUESTIONS.values(), *GUARDIAN_QUESTIONS.values())


def questions(who: Visitor, form: SurveyForm) -> list[dict[str, str]]:
    """The age group's questions, one per compass area, in the visitor's language."""
    if form.with_whom is ConversationWith.GUARDIAN:
        chosen = GUARDIAN_QUESTIONS
    else:
        chosen = CHILD_QUESTIONS if form.age_group in YOUNG else YOUTH_QUESTIONS
    return [
        {"area": a.value, "label": who.t(label_key(a)), "question": who.t(q, name=form.greeting_name) if "{name}" in q else who.t(q)}
        for a, q in chosen.items()
    ]


def routes(web: Web) -> list[Any]:
    def survey_url(request: Request[Any, Any, Any], path: str) -> str:
        return str(request.base_url).rstrip("/") + path

    # -- the Barnkontakt's side ------------------------------------------------------------

    def staff_page(
        who: Visitor, p: Principal, child_id: UUID, values: dict[str, Any], problems: Problems | None = None, *, status: int = 200,
    ) -> Template:
        view = web.hub.read_child(p, child_id, purpose=PURPOSE)
        guardians: list[dict[str, str]] = []
        group = None
        for item in view.of_type("ChildRegistered"):
            born = day(item.fields.get("birth_date"))
            if born is not None:
                group = age_group_for(age_on(born, view.as_of)).value
            for g in item.fields.get("guardians", []):
                if g.get("has_custody") and g.get("guardian_id"):
                    guardians.append({"id": g["guardian_id"], "name": g.get("name", "")})
        names = {g["id"]: g["name"] for g in guardians}
        values.setdefault("age_group", group or "")
        return web.render(
            who, "survey/invite.html", status_code=status, active="cases", child_id=child_id, values=values,
            errors=problems.by_field if problems else {}, guardians=guardians, guardian_names=names,
            age_groups=[g.value for g in AgeGroup], invitations=invitation_statuses(view),
        )

    @get("/staff/children/{child_id:uuid}/survey", sync_to_thread=True)
    def invite_form(request: Request[Any, Any, Any], child_id: FromPath[UUID]) -> Template:
        who = web.visitor(request)
        p = case_owner(web, who, who.path)
        return staff_page(who, p, child_id, {"with_whom": "", "answers_withheld": "no"})

    @post("/staff/children/{child_id:uuid}/survey", sync_to_thread=True)
    def invite(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template:
        who = web.visitor(request)
        p = case_owner(web, who, who.path)
        who.check_form(data)
        values: dict[str, Any] = {
            "with_whom": one(data, "with_whom"), "age_group": one(data, "age_group"),
            "answers_withheld": one(data, "answers_withheld"),
        }
        problems = Problems(who, {})
        whom = values["with_whom"]
        guardian_id = None
        if whom.startswith("guardian:") and len(whom) > len("guardian:"):
            guardian_id = whom.split(":", 1)[1]
        elif whom != "child":
            problems.add("with_whom", "Choose who answers.")
        if values["age_group"] not in {g.value for g in AgeGroup}:
            problems.add("age_group", "Choose the age group of the questions.")
        withheld = yes_no(data, "answers_withheld")
        if withheld is None:
            problems.add("answers_withheld", "Answer yes or no.")
        if problems:
            return staff_page(who, p, child_id, values, problems, status=422)
        made_now: list[InvitationMade] = []

        def make() -> str:
            made_now.append(web.hub.invite_to_conversation(
                p, child_id, with_whom="guardian" if guardian_id else "child", guardian_id=guardian_id,
                age_group=values["age_group"], answers_withheld=bool(withheld),
            ))
            return made_now[0].invitation_id

        form_id = data.get(FORM_ID_FIELD)
        try:
            # once per form: a second send makes no second live code nobody was shown
            web.forms.once(who.session_id or "", form_id if isinstance(form_id, str) else None, make)
        except FIELD_PROBLEMS as e:
            to_field = same_field(("age_group", "answers_withheld"))
            found = problems_from(who, e, lambda f: "with_whom" if f == "guardian_id" else to_field(f))
            return staff_page(who, p, child_id, values, found, status=422)
        if not made_now:
            again = Problems(who, {})
            again.add("form", SENT_ALREADY)
            return staff_page(who, p, child_id, values, again, status=409)
        made = made_now[0]
        return web.render(
            who, "survey/made.html", active="cases", child_id=child_id, made=made,
            link=survey_url(request, f"{PUBLIC}/l/{made.link_secret}"), code_page=survey_url(request, PUBLIC),
            to_child=guardian_id is None,
        )

    @post("/staff/children/{child_id:uuid}/survey/{invitation_id:str}/withdraw", sync_to_thread=True)
    def withdraw(request: Request[Any, Any, Any], child_id: FromPath[UUID], invitation_id: FromPath[str], data: Form) -> Redirect:
        who = web.visitor(request)
        p = case_owner(web, who, who.path)

        def act() -> str:
            web.hub.withdraw_conversation_invitation(p, child_id, invitation_id[:60])
            return f"/staff/children/{child_id}/survey"

        return web.act(who, data, act)

    # -- the child's or guardian's side, without signing in -------------------------------------

    def token_for(request: Request[Any, Any, Any]) -> tuple[str, Cookie | None]:
        return web.sign_in_form(request)

    def check_token(request: Request[Any, Any, Any], data: dict[str, Any]) -> bool:
        sessions = web.runtime.sessions
        offered = one(data, TOKEN_FIELD)
        return sessions is not None and sessions.sign_in_token_matches(request.cookies.get(web.cookies.pre_session), offered or None)

    def count_try(request: Request[Any, Any, Any]) -> None:
        if web.runtime.throttle is not None:
            web.runtime.throttle.survey_code(client_address(request))

    def public(who: Visitor, request: Request[Any, Any, Any], template: str, *, status: int = 200, **context: Any) -> Template:
        token, cookie = token_for(request)
        # the language switch returns to the code page, never to a link with its secret
        page = web.render(who, template, status_code=status, form_token=token, request_path=PUBLIC, **context)
        if cookie is not None:
            page.cookies.append(cookie)
        return page

    def code_page(who: Visitor, request: Request[Any, Any, Any], *, refused: bool = False, status: int = 200) -> Template:
        return public(who, request, "survey/code.html", status=status, refused=refused)

    def answer_page(
        who: Visitor, request: Request[Any, Any, Any], secret: str, form: SurveyForm, values: dict[str, str],
        errors: dict[str, str] | None = None, *, status: int = 200,
    ) -> Template:
        return public(
            who, request, "survey/answer.html", status=status, secret=secret, form=form, questions=questions(who, form),
            values=values, errors=errors or {},
        )

    def opened(secret: str) -> SurveyForm | None:
        try:
            return web.hub.open_conversation_invitation(secret)
        except InvitationNotValidError:
            return None

    @get(PUBLIC, sync_to_thread=True)
    def code_form(request: Request[Any, Any, Any]) -> Template:
        return code_page(web.visitor(request), request)

    @post(PUBLIC, sync_to_thread=True)
    def code_sent(request: Request[Any, Any, Any], data: Form) -> Template:
        who = web.visitor(request)
        count_try(request)
        code = one(data, "code").rsplit(PUBLIC + "/l/", 1)[-1]  # a whole link pasted into the field works too
        form = opened(code) if check_token(request, data) else None
        if form is None:
            return code_page(who, request, refused=True, status=404)
        return answer_page(who, request, code, form, {})

    @get(PUBLIC + "/l/{secret:str}", sync_to_thread=True)
    def link_opened(request: Request[Any, Any, Any], secret: FromPath[str]) -> Template:
        who = web.visitor(request)
        count_try(request)
        form = opened(secret)
        if form is None:
            return code_page(who, request, refused=True, status=404)
        return answer_page(who, request, secret, form, {})

    @post(PUBLIC + "/svar", sync_to_thread=True)
    def answered(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        """The answers, sent once; shown again with what is wrong only while the link or code works."""
        who = web.visitor(request)
        count_try(request)
        secret = one(data, "secret")
        if not check_token(request, data):
            return code_page(who, request, refused=True, status=404)
        values = {a.value: one(data, f"view_{a.value}") for a in Area}
        values["summary"] = one(data, "summary")
        errors: dict[str, str] = {}
        for name, text in values.items():
            most = MAX_SUMMARY if name == "summary" else MAX_ANSWER
            if len(text) > most:
                errors[name] = who.t("The answer is too long: at most {count} characters.", count=most)
        if not errors and not any(values.values()):
            errors["summary"] = who.t("Answer at least one question before you send.")
        if not errors:
            try:
                web.hub.answer_conversation_invitation(
                    secret, views=[{"area": a.value, "view": values[a.value]} for a in Area if values[a.value]],
                    summary=values["summary"],
                )
            except InvitationNotValidError:
                return code_page(who, request, refused=True, status=404)
            except FIELD_PROBLEMS as e:
                errors = problems_from(who, e, lambda _: "summary").by_field
            else:
                return Redirect(path=PUBLIC + "/tack", status_code=303)
        form = opened(secret)
        if form is None:
            return code_page(who, request, refused=True, status=404)
        return answer_page(who, request, secret, form, values, errors, status=422)

    @get(PUBLIC + "/tack", sync_to_thread=True)
    def thanks(request: Request[Any, Any, Any]) -> Template:
        return web.render(web.visitor(request), "survey/thanks.html")

    return [invite_form, invite, withdraw, code_form, code_sent, link_opened, answered, thanks]
