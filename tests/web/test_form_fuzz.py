"""Every form of the pages under generated input: never a server error, and a refused form
appends nothing to the log but
the record of the child's information shown with it.

The forms are found from the app itself (every page route that takes a POST), so a form
added later is fuzzed too. Each is sent by a signed-in member of staff, guardian or
auditor as its path suggests, with the page's anti-forgery token (or, now and then,
without it), the form's own field names where the page shows them, and generated values:
any text, very long text, dates at and past the calendar's ends, numbers past 64 bits, bytes
that are not UTF-8, repeated and missing fields. The child is far enough along the process
that the forms reach the core's rules. Derandomized, so a failure is found again.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_from_bytes
from uuid import UUID

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from contracts.events import InformationAccessed
from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import family, register_child
from tests.factories import GUARDIAN_1_PNR, START, card_payload, conversation_payload, directory, staff
from tests.web.conftest import BASE_URL, post_sign_in

BK = "rektor.ostra"
EXAMPLES = 50

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")

ABSURD = [
    "", " ", "9999-12-31", "0001-01-01", "10000-01-01", "2026-02-30", "-1", "0", "9223372036854775808",
    "-9223372036854775809", "1e309", "NaN", "Infinity", "yes", "no", "true", "null", "[]", "{}", "\x00",
    "../../etc/passwd", "<script>alert(1)</script>", "' OR 1=1 --", "%s%n", "\u202e", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "00000000-0000-0000-0000-000000000000", "2026-03-02T09:00:00+99:00",
]
"""Values that have broken parsers elsewhere: calendar ends, 64-bit edges, NUL, markup, bidi."""


@st.composite
def form_value(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(st.sampled_from(ABSURD)).encode()
    if kind == 1:
        return draw(st.text(max_size=40)).encode("utf-8", "surrogatepass")
    if kind == 2:
        return draw(st.binary(max_size=40))  # not UTF-8, often
    if kind == 3:
        return draw(st.sampled_from(["x", "å", "9"])).encode() * draw(st.sampled_from([5_000, 70_000]))
    return draw(st.from_regex(r"-?\d{1,25}", fullmatch=True)).encode()


def encode(fields: list[tuple[str, bytes]]) -> bytes:
    return "&".join(f"{quote_from_bytes(k.encode('utf-8', 'surrogatepass'))}={quote_from_bytes(v)}" for k, v in fields).encode()


# -- the app, the child, and who sends what --------------------------------------------


UNLIMITED = {"sign_in_limit": "1000000/minute", "sign_in_subject_limit": "1000000/minute"}
"""Every form is signed into from one address at one stopped moment; the limits have tests of their own."""


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Runtime, Litestar, dict[str, str]]]:
    """A child with a card, a Barnkontakt, a conversation, a read for the auditor to review,
    and a consent request for each answer (the one to withdraw granted, so its form shows)."""
    rt = bootstrap(Settings(store="memory", demo_mode=True, **UNLIMITED), clock=SettableClock(START), directory=directory())
    child = UUID(str(register_child(rt)))
    card = rt.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload()).card_id
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    rt.hub.hold_conversation(staff(BK), child, **conversation_payload())
    rt.hub.read_child(staff(BK), child, purpose="Barnkontakt: case page")

    def ask(verb: str) -> UUID:
        return rt.hub.request_consent(
            staff(BK), child, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose=f"Stöd ({verb})"
        )

    consents = {verb: str(ask(verb)) for verb in ("grant", "decline", "withdraw")}
    rt.hub.grant_consent(family(rt, GUARDIAN_1_PNR), child, UUID(consents["withdraw"]))
    known = {"child_id": str(child), "card_id": str(card), "action_id": "rast"} | {f"consent_id/{v}": c for v, c in consents.items()}
    yield rt, create_app(rt), known
    rt.close()


def post_routes(app: Litestar) -> list[str]:
    """Every page path that takes a POST (the API has its own fuzz)."""
    paths = {
        route.path
        for route in app.routes
        if isinstance(route, HTTPRoute) and "POST" in route.methods and not route.path.startswith(("/api/", "/static"))
    }
    return sorted(paths)


def fill(path: str, known: dict[str, str]) -> str:
    """The path with the served child's ids (each answer to a consent request of its own)."""
    verb = path.rsplit("/", 1)[-1]
    known = {**known, "consent_id": known.get(f"consent_id/{verb}", "x")}
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: known.get(m.group(1), "x"), path)


def caller_of(path: str) -> dict[str, str] | None:
    """Who fills in the form: the family pages' a guardian, the audit pages' an auditor, the sign-in forms nobody."""
    if path.startswith("/family"):
        return {"kind": "guardian", "personnummer": GUARDIAN_1_PNR}
    if path.startswith("/audit"):
        return {"kind": "staff", "user": "granskare.ystad"}
    if path.startswith("/sign-"):
        return None
    if path.startswith("/staff/cards"):
        return {"kind": "staff", "user": "larare.ostra"}
    return {"kind": "staff", "user": BK}


FORM = re.compile(r"<form\b[^>]*action=\"([^\"]*)\"[^>]*>(.*?)</form>", re.S)
NAME = re.compile(r"<(?:input|select|textarea)\b[^>]*\bname=\"([^\"]+)\"")
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


HIDDEN_FORMS = {
    "/done": ["csrf_token", "form_id", "note"],
    "/audit/reviews": ["csrf_token", "form_id", "child_id", "access_event_id", "outcome", "note", "back"],
}
"""Fields of forms the served pages do not show: the plan has no actions yet, and the
review page shows its finding form only beside a sampled read."""


def field_names(client: TestClient[Any], action: str, known: dict[str, str]) -> tuple[list[str], str | None]:
    """The names of the form's fields where a page shows the form, and the session's anti-forgery token."""
    child = known["child_id"]
    pages = [action, f"/staff/children/{child}", f"/family/children/{child}/consents", "/audit/review", f"/staff/cards/new?child_id={child}"]
    names: list[str] = [n for end, extra in HIDDEN_FORMS.items() if action.endswith(end) for n in extra]
    token = None
    for page in pages:
        response = client.get(page)
        if response.status_code != 200:
            continue
        token = token or (m.group(1) if (m := TOKEN.search(response.text)) else None)
        for target, body in FORM.findall(response.text):
            if html.unescape(target).split("?")[0] == action:
                names.extend(n for n in NAME.findall(body) if n not in names)
    return names, token


READ = InformationAccessed.type_name
"""A form shown again with its problems shows the child too, and that read is on record."""


def appended_since(rt: Runtime, position: int) -> set[str]:
    """The types of the facts appended after ``position``."""
    return {n.topic for n in rt.hub.recorder.select_notifications(start=position + 1, limit=1000)}


def _form_paths() -> list[str]:
    rt = bootstrap(Settings(store="memory", demo_mode=True, **UNLIMITED), clock=SettableClock(START), directory=directory())
    try:
        return post_routes(create_app(rt))
    finally:
        rt.close()


FORM_PATHS = _form_paths()


def test_every_form_is_found() -> None:
    assert len(FORM_PATHS) >= 15
    assert "/staff/children/{child_id:uuid}/consent-request" in FORM_PATHS
    assert "/family/children/{child_id:uuid}/consents/{consent_id:uuid}/withdraw" in FORM_PATHS


@pytest.mark.parametrize("path", FORM_PATHS)
def test_generated_form_input_never_gets_a_server_error_and_a_refusal_appends_nothing(
    served: tuple[Runtime, Litestar, dict[str, str]], path: str
) -> None:
    rt, app, known = served
    action = fill(path, known)
    who = caller_of(path)
    with TestClient(app, base_url=BASE_URL) as client:
        if who is not None:
            signed_in = post_sign_in(client, **who)
            assert signed_in.status_code == 303, signed_in.text
        names, token = field_names(client, action, known)
        assert who is None or token, f"no anti-forgery token on the pages for {action}"
        any_name = st.sampled_from(names) if names else st.text(max_size=20)
        field = st.tuples(st.one_of(any_name, st.text(max_size=20)), form_value())

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(fields=st.lists(field, max_size=12), with_token=st.booleans() | st.just(True))
        def send(fields: list[tuple[str, bytes]], with_token: bool) -> None:
            sent = [("csrf_token", token.encode())] if token and with_token else []
            before = rt.hub.log_length()
            response = client.post(
                action,
                content=encode(sent + fields),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                follow_redirects=False,
            )
            assert response.status_code < 500, (action, response.status_code, response.text[:300])
            if response.status_code >= 400:
                assert appended_since(rt, before) <= {READ}, (action, response.status_code)

        send()


def test_a_rating_score_of_five_thousand_digits_is_shown_again_as_a_problem(
    served: tuple[Runtime, Litestar, dict[str, str]],
) -> None:
    """Found by the fuzz: ``int()`` refuses more than 4,300 digits, and the page answered 500."""
    rt, app, known = served
    action = f"/staff/children/{known['child_id']}/rating"
    with TestClient(app, base_url=BASE_URL) as client:
        post_sign_in(client, kind="staff", user=BK)
        _, token = field_names(client, action, known)
        assert token
        before = rt.hub.log_length()
        response = client.post(action, data={"csrf_token": token, "form_id": "r1", "score-trygghet-natverk": "9" * 5000})
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text
    assert appended_since(rt, before) <= {READ}
