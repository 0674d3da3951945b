"""Attacks on the follow-up figures' disclosure control, the consent receipt's language and
the family pages in the family languages, from outside: each test is one attempt, and passes
when the hub holds against it.

Disclosure: a count of 1 or 2 children must not be published, nor be worked out from what
is published (totals, the reason a cell is hidden, other figures, other filters). Access:
only the area's administrator sees the unsuppressed figures, and each such view is kept in
the area's log. Bad values are refused with a clear 4xx, never a 500."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from consent.disclosure import DisclosureRule
from contracts.directory import UnsuppressedFiguresViewed
from hub.application.directory_log import LiveDirectory
from hub.application.readmodels import FigureCount
from hub.application.reads import publishable_counts
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from hub.web.i18n import FAMILY_LANGUAGES, LANGUAGE_COOKIE
from projections.figures import FIGURES
from tests.factories import GUARDIAN_1_PNR, TENANT, card_payload, staff
from tests.http.test_followup_figures_api import API, BK, bearer, csv_rows, two_terms_of_work
from tests.web.conftest import post_sign_in
from tests.web.test_documents import read_pdf
from tests.web.test_family_pages import PURPOSE, answer, child_with_request, client, sign_in

TERM = "2026 vt"
OTHER_CHILD_PNR = "201603041235"
OTHER_GUARDIAN_PNR = "198201011239"


# -- what anyone can work out from a published figure -----------------------------------------


def _published(numbers: dict[str, dict[str, int]], rule: DisclosureRule | None = None) -> dict[tuple[str, str], FigureCount]:
    """The figures of one term as published (every cell and total), from the true counts."""
    counted = [FigureCount(term=TERM, figure=f, key=k, count=n) for f, keys in numbers.items() for k, n in keys.items()]
    cells, totals = publishable_counts(counted, [TERM], rule or DisclosureRule())
    out = {(c.figure, c.key): c for c in cells}
    out.update({(t.figure, "total"): t for t in totals})
    return out


def _feasible(
    shown: dict[tuple[str, str], FigureCount], figure: str, threshold: int = 2, *, at_least: dict[str, int] | None = None
) -> list[dict[str, int]]:
    """Every table of true counts consistent with what is published of ``figure``: the
    shown cells and the shown total, with lower bounds others can read elsewhere (a hidden
    count's reason is not published, so it narrows nothing)."""
    keys = next(k for f, k in FIGURES if f == figure)
    total = shown[(figure, "total")].count
    known = {k: shown[(figure, k)].count for k in keys}
    hidden = [k for k in keys if known[k] is None]
    ceiling = sum(v or 0 for v in known.values()) + 12 if total is None else total
    out = []
    for values in itertools.product(range(ceiling + 1), repeat=len(hidden)):
        table = {**known, **dict(zip(hidden, values, strict=True))}
        if total is not None and sum(table.values()) != total:  # type: ignore[arg-type]
            continue
        ok = True
        for k in hidden:
            assert shown[(figure, k)].suppressed is True  # hidden, and no reason given that would narrow it
            if at_least and table[k] < at_least.get(k, 0):  # type: ignore[operator]
                ok = False
        if ok:
            out.append({k: v or 0 for k, v in table.items()})
    return out


def _possible(tables: list[dict[str, int]], key: str) -> set[int]:
    return {t[key] for t in tables}


def test_a_hidden_count_of_one_cannot_be_worked_out_from_its_secondary_partner_and_the_total() -> None:
    """One internal card and three external ones in a term: both hidden, the total 4 shown.
    The published reasons say internal is "primary" (1 or 2) and external "secondary" (so
    not 1 or 2): 4 = internal + external leaves internal = 1 alone."""
    shown = _published({"discovery_cards": {"internal": 1, "external": 3}})
    assert shown[("discovery_cards", "internal")].count is None  # hidden, as it must be
    assert len(_possible(_feasible(shown, "discovery_cards"), "internal")) > 1, "the count of 1 is worked out exactly"


def test_two_hidden_counts_of_two_cannot_be_worked_out_from_the_total() -> None:
    """Two internal cards and two external: both "primary" (1 or 2), the total 4 shown;
    4 = a + b with a, b at most 2 leaves only 2 and 2."""
    shown = _published({"discovery_cards": {"internal": 2, "external": 2}})
    assert shown[("discovery_cards", "internal")].count is None
    assert len(_possible(_feasible(shown, "discovery_cards"), "internal")) > 1, "the counts of 2 are worked out exactly"


def test_a_hidden_decision_cannot_be_worked_out_from_the_individual_teams_figure() -> None:
    """One child left to the school's own support, three children given an individual team,
    each by one decision. The decisions table hides own support (1) and, beside it, the
    individual team's 3; but the figure of individual teams started publishes 3 children,
    and each of them was one such decision, so individual_team >= 3 and own support =
    4 - 0 - 3 = 1, without even reading the reasons."""
    numbers = {
        "decisions": {"own_support": 1, "barnteam": 0, "individual_team": 3},
        "individual_teams": {"": 3},
    }
    shown = _published(numbers)
    assert shown[("decisions", "own_support")].count is None
    floor = {"individual_team": shown[("individual_teams", "")].count or 0}
    keys = next(k for f, k in FIGURES if f == "decisions")
    total = shown[("decisions", "total")].count
    assert total is not None
    known = {k: shown[("decisions", k)].count for k in keys}
    hidden = [k for k in keys if known[k] is None]
    worlds = []
    for values in itertools.product(range(1, total + 1), repeat=len(hidden)):  # a hidden inner cell is not 0
        table = {**known, **dict(zip(hidden, values, strict=True))}
        if sum(table.values()) == total and all(table[k] >= floor.get(k, 0) for k in hidden):  # type: ignore[arg-type,operator]
            worlds.append(table)
    assert len({w["own_support"] for w in worlds}) > 1, "own support's count of 1 is worked out from individual_teams"


def test_a_rounded_table_hides_its_small_counts_and_no_published_count_is_one_or_two() -> None:
    rule = DisclosureRule(threshold=2, rounding=5)
    shown = _published({"home_visits": {"1": 1, "2": 4, "3": 7, "4": 0, "5": 2, "6": 11}}, rule)
    counts = [c.count for (f, _), c in shown.items() if f == "home_visits"]
    assert all(n is None or n % 5 == 0 for n in counts)
    assert shown[("home_visits", "1")].count is None and shown[("home_visits", "5")].count is None


def test_every_term_is_protected_alone_so_a_filter_cannot_difference_a_cell_out(rt: Runtime, clock: SettableClock) -> None:
    """The same term's numbers whatever span or figure is asked for, on the API, so that
    two answers never differ by a hidden cell."""
    two_terms_of_work(rt, clock)
    with client(rt) as c:
        answers = []
        for query in ({}, {"from": "2026 vt"}, {"to": "2026 vt"}, {"from": "2026 vt", "to": "2026 vt"}, {"figure": "discovery_cards"}):
            body = c.get(API, params=query, headers=bearer(rt, "larare.ostra")).json()
            answers.append({(x["term"], x["figure"], x["key"]): x["count"] for x in body["counts"]})
    for one in answers[1:]:
        for key, n in one.items():
            assert answers[0][key] == n, key


def test_the_term_report_and_the_csv_together_give_a_hidden_card_count_away(rt: Runtime, clock: SettableClock) -> None:
    """As a unit's staff reads them: one internal card and three external in a term. The
    term report publishes the cards' total (4); the CSV file (and the API) say internal is
    hidden as "primary" (1 or 2) and external as "secondary" (so not 1 or 2). The only way
    to make 4 is internal 1, external 3: the count of one is worked out."""
    from tests.conftest import register_child

    child = UUID(str(register_child(rt)))
    rt.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload())
    for _ in range(3):
        rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload())
    with client(rt) as c:
        assert post_sign_in(c, kind="staff", user="larare.ostra").status_code == 303
        rows = list(csv.DictReader(io.StringIO(c.get("/follow-up.csv?figure=discovery_cards").text)))
        report = c.get("/follow-up/report").text
    why = {r["key"]: r["suppressed"] for r in rows}
    assert {r["key"]: r["count"] for r in rows} == {"internal": "..", "external": ".."}  # both hidden
    cards = report[report.index('id="report-discovery-cards"') : report.index('id="report-child-conversations"')]
    found = re.search(r'<th scope="row">Totalt</th>\s*<td class="num">([^<]+)</td>', cards)
    assert found is not None and found.group(1) != "..", cards
    total = int(found.group(1))
    worlds = [
        (a, total - a)
        for a in range(total + 1)
        if (1 <= a <= 2) == (why["internal"] == "primary") and (1 <= total - a <= 2) == (why["external"] == "primary")
    ]
    assert len(worlds) > 1, f"the internal count is worked out from total {total} and the reasons {why}: {worlds}"


# -- who gets the unsuppressed figures, and is each view kept -------------------------------


FLAGS = ["true", "1", "yes", "True", "on", "TRUE", "t", "y"]


@pytest.mark.parametrize("who", ["larare.ostra", "rektor.ostra", "granskare.ystad", "kurator.ostra"])
def test_no_one_but_the_administrator_gets_unsuppressed_figures_by_any_spelling_of_the_flag(
    rt: Runtime, clock: SettableClock, who: str
) -> None:
    two_terms_of_work(rt, clock)
    with client(rt) as c:
        for flag in FLAGS:
            answer_ = c.get(API, params={"unsuppressed": flag}, headers=bearer(rt, who))
            assert answer_.status_code in (400, 403, 422), (flag, answer_.text)
            assert answer_.headers["content-type"].startswith("application/problem+json")
        assert post_sign_in(c, kind="staff", user=who).status_code == 303
        for flag in FLAGS:
            for path in ("/follow-up", "/follow-up.csv", "/follow-up/report"):
                r = c.get(f"{path}?unsuppressed={flag}")
                assert r.status_code != 500
                if r.status_code == 200 and path == "/follow-up.csv":
                    assert ("2026 vt", "discovery_cards", "external", 1) not in csv_rows(c, f"?unsuppressed={flag}")
        for path in ("/follow-up.pdf", "/follow-up/report.pdf"):  # a document is made once per spelling's outcome alike
            r = c.get(f"{path}?unsuppressed=true")
            assert r.status_code != 500
            if r.status_code == 200:
                text, _ = read_pdf(r)
                assert "inte för publicering" not in text
    directory = rt.hub.directory
    assert isinstance(directory, LiveDirectory)
    assert not [f for f in directory.history(TENANT) if isinstance(f, UnsuppressedFiguresViewed)]


def test_another_areas_administrator_gets_nothing_of_this_areas_figures(rt: Runtime, clock: SettableClock) -> None:
    """An administrator's token of another area reads that area's figures, never this one's."""
    two_terms_of_work(rt, clock)
    assert rt.demo_issuer is not None
    token = rt.demo_issuer.staff_token("lidingo", "admin.ystad", None, ["tenant_admin"])
    with client(rt) as c:
        r = c.get(API, params={"unsuppressed": "true"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code in (200, 401, 403), r.text
    if r.status_code == 200:
        body = r.json()
        assert body["tenant_id"] == "lidingo" and body["counts"] == [] and body["terms"] == []


@pytest.mark.parametrize("who", ["guardian", "child"])
def test_a_family_member_gets_no_figures_at_all(rt: Runtime, clock: SettableClock, who: str) -> None:
    two_terms_of_work(rt, clock)
    with client(rt) as c:
        sign_in(c, GUARDIAN_1_PNR if who == "guardian" else "201507122388", kind=who)
        for path in (
            "/follow-up",
            "/follow-up?unsuppressed=true",
            "/follow-up.csv?unsuppressed=1",
            "/follow-up.pdf",
            "/follow-up/report",
            "/follow-up/report.pdf",
            "/api/v1/follow-up/figures",
        ):
            r = c.get(path, follow_redirects=False)
            assert r.status_code in (303, 401, 403, 404), (path, r.status_code)
            assert "discovery_cards" not in r.text


@pytest.mark.parametrize(
    "query",
    ["?unsuppressed=true&unsuppressed=false", "?unsuppressed=false&unsuppressed=true", "?unsuppressed=1", "?unsuppressed=yes&from=2026+vt"],
)
def test_every_unsuppressed_view_the_administrator_gets_is_kept_in_the_areas_log(rt: Runtime, clock: SettableClock, query: str) -> None:
    two_terms_of_work(rt, clock)
    directory = rt.hub.directory
    assert isinstance(directory, LiveDirectory)

    def kept() -> int:
        return len([f for f in directory.history(TENANT) if isinstance(f, UnsuppressedFiguresViewed)])

    with client(rt) as c:
        before = kept()
        api = c.get(API + query, headers=bearer(rt, "admin.ystad"))
        assert api.status_code != 500
        if api.status_code == 200 and api.json()["publishable"] is False:
            assert kept() == before + 1
        assert post_sign_in(c, kind="staff", user="admin.ystad").status_code == 303
        for path in ("/follow-up", "/follow-up.csv"):
            before = kept()
            r = c.get(path + query)
            assert r.status_code != 500
            shows_one = ('<p class="notice" role="status">Uppgifter utan röjandeskydd' in r.text) or (
                path.endswith(".csv")
                and r.status_code == 200
                and any(row["count"] in ("1", "2") for row in csv.DictReader(io.StringIO(r.text)))
            )
            if shows_one:
                assert kept() == before + 1, path + query


def test_a_refused_unsuppressed_view_from_after_to_records_nothing(rt: Runtime, clock: SettableClock) -> None:
    two_terms_of_work(rt, clock)
    directory = rt.hub.directory
    assert isinstance(directory, LiveDirectory)
    with client(rt) as c:
        r = c.get(API, params={"unsuppressed": "true", "from": "2026 ht", "to": "2026 vt"}, headers=bearer(rt, "admin.ystad"))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert not [f for f in directory.history(TENANT) if isinstance(f, UnsuppressedFiguresViewed)]


# -- bad values: a clear 4xx, never a 500 -----------------------------------------------------


WRONG_TERMS = [
    "2026 VT",
    "2026-vt",
    "x" * 41,
    "x" * 5000,
    "２０２６ vt",
    "٢٠٢٦ vt",
    "2026 vt\n",
    "2026\u00a0vt",
    " 2026 vt",
    "2026 vt ",
    "-001 vt",
    "2026 vt' OR 1=1--",
    "<script>",
    "%00",
    "2026 vt\x00",
    "99999 ht",
    "",
]
EXTREME_TERMS = ["0000 vt", "9999 ht", "0001 ht"]


@pytest.mark.parametrize("name", ["from", "to"])
def test_the_api_answers_any_term_with_its_figures_or_a_problem_never_a_500(rt: Runtime, clock: SettableClock, name: str) -> None:
    two_terms_of_work(rt, clock)
    with client(rt) as c:
        for value in WRONG_TERMS + EXTREME_TERMS:
            r = c.get(API, params={name: value}, headers=bearer(rt, "admin.ystad"))
            pdf = c.get("/api/v1/follow-up/term-report.pdf", params={"term": value}, headers=bearer(rt, "admin.ystad"))
            for response in (r, pdf):
                assert response.status_code < 500, (value, response.text[:300])
                if response.status_code >= 400:
                    assert response.headers["content-type"] == "application/problem+json", value
            if value in EXTREME_TERMS:
                assert r.status_code == 200
            elif value:
                assert r.status_code in (400, 422), value


def test_the_pages_answer_any_term_with_a_page_or_a_clear_refusal_never_a_500(rt: Runtime, clock: SettableClock) -> None:
    two_terms_of_work(rt, clock)
    with client(rt) as c:
        assert post_sign_in(c, kind="staff", user="admin.ystad").status_code == 303
        for value in WRONG_TERMS + EXTREME_TERMS + ["2026 ht"]:
            for path, params in (
                ("/follow-up", {"from": value}),
                ("/follow-up", {"from": value, "to": "2026 vt"}),
                ("/follow-up", {"to": value, "unsuppressed": "true"}),
                ("/follow-up.csv", {"to": value}),
                ("/follow-up.pdf", {"from": value}),
                ("/follow-up/report", {"term": value}),
                ("/follow-up/report.pdf", {"term": value}),
                ("/follow-up", {"figure": value}),
                ("/follow-up.csv", {"figure": value}),
            ):
                r = c.get(path, params=params)
                assert r.status_code < 500, (path, params, r.text[:300])
                assert value not in r.text or value in ("", "2026 ht") or value in EXTREME_TERMS or "<" not in value


def test_from_after_to_is_a_named_problem_on_the_api_and_a_422_on_the_page_and_file(rt: Runtime, clock: SettableClock) -> None:
    two_terms_of_work(rt, clock)
    with client(rt) as c:
        api = c.get(API, params={"from": "2026 ht", "to": "2026 vt"}, headers=bearer(rt, "larare.ostra"))
        assert post_sign_in(c, kind="staff", user="larare.ostra").status_code == 303
        page = c.get("/follow-up?from=2026+ht&to=2026+vt")
        file = c.get("/follow-up.csv?from=2026+ht&to=2026+vt")
        pdf = c.get("/follow-up.pdf?from=2026+ht&to=2026+vt")
    assert api.status_code == 422 and api.headers["content-type"] == "application/problem+json" and "from" in api.text
    assert page.status_code == 422 and file.status_code == 422
    assert pdf.status_code in (400, 422), pdf.status_code


# -- the consent receipt's language -------------------------------------------------------------


@pytest.mark.parametrize(
    "lang,cookie",
    [
        ("xx", None),
        (None, "../.."),
        ("a" * 5000, None),
        (None, "a" * 3000),
        ("ar\r\nSet-Cookie: x=1", None),
        ("<script>", None),
        (None, "sv; backa_session=x"),
        ("AR", None),
        ("ar-SA", None),
        (None, "../../etc/passwd"),
    ],
)
def test_a_forged_language_gives_a_receipt_in_a_family_language_and_records_a_known_one(
    rt: Runtime, lang: str | None, cookie: str | None
) -> None:
    child, consent = child_with_request(rt)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        if cookie is not None:
            anna.cookies.set(LANGUAGE_COOKIE, cookie)
        params = {"lang": lang} if lang is not None else {}
        page = anna.get(f"/family/children/{child}/consents", params=params)
        assert page.status_code == 200
        action = f"/family/children/{child}/consents/{consent}/grant"
        from tests.web.test_family_pages import form_of

        granted = anna.post(action, params=params, data=form_of(page.text, action), follow_redirects=False)
        assert granted.status_code == 303, granted.text[:300]
        assert "Set-Cookie: x" not in granted.headers.get("location", "")
        receipt = anna.get(f"/family/children/{child}/consents/{consent}/receipt", params=params)
        pdf = anna.get(f"/family/children/{child}/consents/{consent}/receipt.pdf", params=params)
    assert receipt.status_code == 200 and pdf.status_code == 200
    found = re.search(r'<html lang="([^"]+)"', receipt.text)
    assert found and found.group(1) in FAMILY_LANGUAGES
    assert "<script>" not in receipt.text and "x=1" not in str(receipt.headers)
    from tests.conftest import family

    items = rt.hub.read_child(family(rt, GUARDIAN_1_PNR), child, purpose="Family: consent receipt", view="family_view").items
    languages = [i.fields.get("language") for i in items if i.type == "ConsentGranted"]
    assert languages and all(x is None or x in FAMILY_LANGUAGES for x in languages), languages


def _second_family(rt: Runtime) -> tuple[UUID, UUID]:
    """Another child of the area, with a guardian of their own and a consent request."""
    child = UUID(
        str(
            rt.hub.register_child(
                staff("larare.ostra"),
                personnummer=OTHER_CHILD_PNR,
                given_name="Sixten",
                family_name="Berg",
                guardians=[{"name": "Olle Berg", "personnummer": OTHER_GUARDIAN_PNR, "has_custody": True}],
            )
        )
    )
    rt.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload())
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    consent = rt.hub.request_consent(staff(BK), child, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose=PURPOSE)
    return child, consent


def test_a_guardian_gets_no_receipt_of_another_family_nor_of_a_consent_under_the_wrong_child(rt: Runtime) -> None:
    child, consent = child_with_request(rt)
    other_child, other_consent = _second_family(rt)
    with client(rt) as olle:
        sign_in(olle, OTHER_GUARDIAN_PNR)
        assert answer(olle, other_child, other_consent, "grant").status_code == 303
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        attempts = [
            anna.get(f"/family/children/{other_child}/consents/{other_consent}/receipt?lang=ar"),
            anna.get(f"/family/children/{other_child}/consents/{other_consent}/receipt.pdf"),
            anna.get(f"/family/children/{child}/consents/{other_consent}/receipt?lang=ar"),  # the other's consent under her own child
            anna.get(f"/family/children/{child}/consents/{other_consent}/receipt.pdf"),
            anna.get(f"/family/children/{child}/consents/{uuid4()}/receipt"),
            anna.get(f"/family/children/{other_child}/consents/{consent}/receipt"),
        ]
    for r in attempts:
        assert r.status_code in (403, 404), (r.request.url, r.status_code)
        for secret in ("Sixten", "Berg", "Olle"):
            assert secret not in r.text, r.request.url


def test_staff_and_other_units_reach_the_receipt_pdf_only_through_their_own_basis(rt: Runtime) -> None:
    child, consent = child_with_request(rt)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        anna.cookies.set(LANGUAGE_COOKIE, "ar")
        assert answer(anna, child, consent, "grant").status_code == 303
    path = f"/api/v1/children/{child}/consents/{consent}/receipt.pdf"
    assert rt.demo_issuer is not None
    other_area = rt.demo_issuer.staff_token("lidingo", "rektor.lidingo", "skola-lidingo", ["barnkontakt"])
    with client(rt) as c:
        outsider = c.get(path, headers=bearer(rt, "forskola.solen"))
        lidingo = c.get(path, headers={"Authorization": f"Bearer {other_area}"})
        holder = c.get(path, headers=bearer(rt, BK))
        wrong = c.get(f"/api/v1/children/{child}/consents/{uuid4()}/receipt.pdf", headers=bearer(rt, BK))
    for r in (outsider, lidingo):
        assert r.status_code in (403, 404), r.status_code
        assert r.headers["content-type"].startswith("application/problem+json")
    assert holder.status_code == 200 and holder.headers["content-type"].startswith("application/pdf")
    assert wrong.status_code in (403, 404) and wrong.headers["content-type"].startswith("application/problem+json")


# -- the family pages in every family language ---------------------------------------------------


NASTY = "<img src=x onerror=alert(1)>\u202e\"'</script><script>alert(2)</script>"


@pytest.mark.parametrize("language", FAMILY_LANGUAGES)
def test_every_family_page_opens_in_every_language_with_names_escaped(rt: Runtime, language: str) -> None:
    child = UUID(
        str(
            rt.hub.register_child(
                staff("larare.ostra"),
                personnummer="201507122388",
                given_name=NASTY,
                family_name=NASTY,
                guardians=[
                    {"name": NASTY, "personnummer": GUARDIAN_1_PNR, "has_custody": True},
                    {"name": "Bo " + NASTY, "personnummer": "198407202384", "has_custody": True},
                ],
            )
        )
    )
    rt.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload())
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    consent = rt.hub.request_consent(staff(BK), child, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose=NASTY)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        anna.cookies.set(LANGUAGE_COOKIE, language)
        assert answer(anna, child, consent, "grant").status_code == 303
        paths = [
            "/family",
            f"/family/children/{child}",
            f"/family/children/{child}/consents",
            f"/family/children/{child}/consents/{consent}/receipt",
            f"/family/children/{child}/consents/{consent}/withdraw",
            f"/family/children/{child}/access-log",
        ]
        pages = [(p, anna.get(p, params={"lang": language})) for p in paths]
        pdf = anna.get(f"/family/children/{child}/consents/{consent}/receipt.pdf", params={"lang": language})
    for path, page in pages:
        assert page.status_code == 200, (language, path, page.status_code, page.text[:300])
        assert f'<html lang="{language}"' in page.text, path
        assert "<script>alert" not in page.text and "<img src=x" not in page.text, (language, path)
    assert pdf.status_code == 200 and pdf.headers["content-type"].startswith("application/pdf"), pdf.text[:300]


def test_the_language_switch_cannot_redirect_off_site_or_inject_a_header(rt: Runtime) -> None:
    with client(rt) as c:
        for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "/family\r\nSet-Cookie: x=1", "javascript:alert(1)"):
            r = c.get("/language/ar", params={"next": target}, follow_redirects=False)
            assert r.status_code in (302, 303, 307), r.status_code
            location = r.headers.get("location", "")
            assert location.startswith("/") and not location.startswith("//") and "\\" not in location[:3], location
            assert "evil.example" not in location.split("?")[0][:20]
            assert "x=1" not in r.headers.get("set-cookie", "").replace("backa_lang", "")
        r = c.get("/language/..%2F..%2Fetc", follow_redirects=False)
        assert r.status_code < 500
        cookie = r.headers.get("set-cookie", "")
        assert "etc" not in cookie


def test_the_figures_as_of_a_clock_far_ahead_still_answer(rt: Runtime, clock: SettableClock) -> None:
    """A term far from today still reads (the term is counted from Swedish local time)."""
    two_terms_of_work(rt, clock)
    clock.set(datetime(2099, 12, 31, 23, 30, tzinfo=UTC))
    with client(rt) as c:
        r = c.get(API, headers=bearer(rt, "larare.ostra"))
    assert r.status_code == 200 and r.json()["publishable"] is True
    body: dict[str, Any] = r.json()
    assert all(x["count"] is None or x["count"] == 0 or x["count"] > 2 for x in body["counts"])


@pytest.mark.parametrize("kind", ["guardian", "child"])
def test_a_family_token_gets_a_problem_from_the_figures_api_whatever_it_asks(rt: Runtime, clock: SettableClock, kind: str) -> None:
    two_terms_of_work(rt, clock)
    assert rt.demo_issuer is not None
    token = (
        rt.demo_issuer.family_token(TENANT, "guardian", GUARDIAN_1_PNR)
        if kind == "guardian"
        else rt.demo_issuer.family_token(TENANT, "child", "201507122388")
    )
    with client(rt) as c:
        for params in ({}, {"unsuppressed": "true"}, {"unsuppressed": "1", "figure": "decisions"}):
            r = c.get(API, params=params, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code in (401, 403), (params, r.status_code)
            assert r.headers["content-type"].startswith("application/problem+json")
            report = c.get("/api/v1/follow-up/term-report.pdf", headers={"Authorization": f"Bearer {token}"})
            assert report.status_code in (401, 403) and report.headers["content-type"].startswith("application/problem+json")


def test_a_wrong_figure_is_a_named_problem_on_the_api(rt: Runtime, clock: SettableClock) -> None:
    two_terms_of_work(rt, clock)
    with client(rt) as c:
        for figure in ["nope", "decisions ", "DECISIONS", "decisions|home_visits", "x" * 41, "x" * 5000, "home_visits\n", ""]:
            r = c.get(API, params={"figure": figure}, headers=bearer(rt, "larare.ostra"))
            assert r.status_code < 500
            if figure:
                assert r.status_code in (400, 422) and r.headers["content-type"] == "application/problem+json", figure
