"""Uppföljning as JSON: the staff and the administrator of a cooperation area read the
evaluation's figures from the API with the page's filter, and the API, the page and the
CSV file give the same numbers; anyone else is refused with a problem."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import TestClient

from consent.permissions import Action
from contracts.directory import UnsuppressedFiguresViewed
from hub.application.directory_log import LiveDirectory
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from projections.figures import FIGURES
from tests.conftest import register_child
from tests.factories import GUARDIAN_1_PNR, STAFF, TENANT, card_payload, conversation_payload, staff
from tests.web.conftest import post_sign_in

API = "/api/v1/follow-up/figures"
BK = "rektor.ostra"


def bearer(rt: Runtime, user_id: str, tenant: str = TENANT) -> dict[str, str]:
    assert rt.demo_issuer is not None
    unit, roles = STAFF[user_id]
    return {"Authorization": f"Bearer {rt.demo_issuer.staff_token(tenant, user_id, unit, sorted(r.value for r in roles))}"}


def two_terms_of_work(rt: Runtime, clock: SettableClock) -> None:
    """Cards, a conversation and a decision in the spring term of 2026, more in the autumn."""
    hub = rt.hub
    child = register_child(rt)
    hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload())
    hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload())
    hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    hub.hold_conversation(staff(BK), child, **conversation_payload("guardian"))
    clock.set(datetime(2026, 9, 14, 9, 0, tzinfo=UTC))
    hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload())
    hub.hold_conversation(staff(BK), child, **conversation_payload("child"))
    hub.decide_team(staff(BK), child, decision="own_support", family_informed=True)
    hub.record_home_visit(staff("sjukskoterska.bvc"), child, visit=2)


def shown(text: str) -> int | None:
    """A published count: ".." where the disclosure rule hides it."""
    return None if text == ".." else int(text.replace("\xa0", "").replace(" ", ""))


def csv_rows(client: TestClient[Any], query: str = "") -> list[tuple[str, str, str, int | None]]:
    response = client.get("/follow-up.csv" + query)
    assert response.status_code == 200, response.text
    return [(r["term"], r["figure"], r["key"], shown(r["count"])) for r in csv.DictReader(io.StringIO(response.text))]


def page_tables(html: str, terms: list[str], figures: list[str]) -> list[tuple[str, str, str, int | None]]:
    """The page's tables read back as (term, figure, key, count), in the API's order."""
    found = {}
    for figure, keys in FIGURES:
        if figure not in figures:
            assert f'id="{figure.replace("_", "-")}"' not in html
            continue
        start = html.index(f'<section class="figure" aria-labelledby="{figure.replace("_", "-")}"')
        section = html[start:html.index("</table>", start)]
        numbers = [shown(n) for n in re.findall(r'<td class="num">(?:<abbr[^>]*>)?([^<]+)(?:</abbr>)?</td>', section)]
        assert len(numbers) == len(keys) * len(terms)
        for k, key in enumerate(keys):
            for i, term in enumerate(terms):
                found[(term, figure, key)] = numbers[k * len(terms) + i]
    return [(t, f, k, found[(t, f, k)]) for t in terms for f, keys in FIGURES if f in figures for k in keys]


@pytest.mark.parametrize(
    "query",
    ["", "?from=2026+ht", "?to=2026+vt", "?from=2026+vt&to=2026+ht&figure=discovery_cards", "?figure=home_visits"],
    ids=["everything", "from the autumn", "up to the spring", "cards in both terms", "home visits"],
)
def test_the_api_the_page_and_the_csv_file_give_the_same_numbers(
    rt: Runtime, client: TestClient[Any], clock: SettableClock, query: str
) -> None:
    two_terms_of_work(rt, clock)
    answer = client.get(API + query, headers=bearer(rt, "admin.ystad"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    api = [(c["term"], c["figure"], c["key"], c["count"]) for c in body["counts"]]
    assert body["tenant_id"] == TENANT and api

    assert post_sign_in(client, kind="staff", user="admin.ystad").status_code == 303
    assert csv_rows(client, query) == api
    page = client.get("/follow-up" + query)
    assert page.status_code == 200
    assert page_tables(page.text, body["terms"], body["figures"]) == api


def test_the_filter_narrows_the_terms_and_the_figures(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    two_terms_of_work(rt, clock)
    everything = client.get(API, headers=bearer(rt, "larare.ostra")).json()
    assert everything["terms"] == ["2026 vt", "2026 ht"]
    assert everything["figures"] == [name for name, _ in FIGURES]
    counts = {(c["term"], c["figure"], c["key"]): c["count"] for c in everything["counts"]}
    # one card of each kind in the spring: counts of 1 are hidden (null) in the publishable form
    assert everything["publishable"] is True
    assert counts[("2026 vt", "discovery_cards", "external")] is None and counts[("2026 vt", "discovery_cards", "internal")] is None
    assert counts[("2026 ht", "discovery_cards", "external")] is None
    assert counts[("2026 ht", "needs_met", "")] == 0  # every figure of a term, counted or not; 0 is published

    autumn = client.get(API, params={"from": "2026 ht", "figure": "child_conversations"}, headers=bearer(rt, "larare.ostra")).json()
    assert autumn["from_term"] == "2026 ht" and autumn["to_term"] is None and autumn["figure"] == "child_conversations"
    assert autumn["terms"] == ["2026 ht"]
    # a 1 beside a 0 of the same term: the 1 is hidden, and so is the term's total (it is the same 1)
    assert [(c["key"], c["count"], c["suppressed"]) for c in autumn["counts"]] == [("child", None, True), ("guardian", 0, False)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-vt"}, "from"),
        ({"to": "vt 2026"}, "to"),
        ({"figure": "children"}, "figure"),
        ({"from": "2026 ht", "to": "2026 vt"}, "from"),
    ],
    ids=["a term written otherwise", "a term backwards", "an unknown figure", "the first term after the last"],
)
def test_a_wrong_filter_is_refused_naming_its_parameter_by_the_api_the_page_and_the_csv(
    rt: Runtime, client: TestClient[Any], clock: SettableClock, params: dict[str, str], field: str
) -> None:
    two_terms_of_work(rt, clock)
    refused = client.get(API, params=params, headers=bearer(rt, "admin.ystad"))
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in refused.json()["errors"]] == [field]

    assert post_sign_in(client, kind="staff", user="admin.ystad").status_code == 303
    page = client.get("/follow-up", params=params)
    assert page.status_code == 422
    assert f'id="filter-{field}" name="{field}" aria-invalid="true"' in page.text
    assert "Siffrorna kunde inte visas" in page.text and 'id="discovery-cards"' not in page.text
    assert client.get("/follow-up.csv", params=params).status_code == 422


def test_only_the_areas_staff_and_administrator_read_the_figures(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    two_terms_of_work(rt, clock)
    missing = client.get(API)
    assert missing.status_code == 401 and missing.headers["content-type"].startswith("application/problem+json")
    assert rt.demo_issuer is not None
    guardian = {"Authorization": f"Bearer {rt.demo_issuer.family_token(TENANT, 'guardian', GUARDIAN_1_PNR)}"}
    refused = client.get(API, headers=guardian)
    assert refused.status_code == 403 and refused.json()["type"].endswith("not-permitted")
    auditor = client.get(API, headers=bearer(rt, "granskare.ystad"))
    page_as_auditor = rt.hub.may(staff("granskare.ystad"), Action.READ_FIGURES)
    assert (auditor.status_code == 200) is page_as_auditor  # the page's permission, asked of the same policy
    for user in ("admin.ystad", "larare.ostra", "polis.ystad"):
        assert client.get(API, headers=bearer(rt, user)).status_code == 200, user


def test_the_answer_is_published_in_the_openapi_document(client: TestClient[Any]) -> None:
    document = client.get("/api/v1/schema/openapi.json").json()
    operation = document["paths"][API]["get"]
    assert operation["tags"] == ["follow-up"]
    assert {p["name"] for p in operation["parameters"]} == {"from", "to", "figure", "unsuppressed"}
    assert {"401", "403", "422"} <= set(operation["responses"])
    schema = document["components"]["schemas"]["FollowUpFigures"]
    assert schema["additionalProperties"] is False
    assert {"terms", "figures", "counts", "from_term", "to_term", "figure", "publishable"} <= set(schema["properties"])


def test_no_publishable_answer_file_or_page_holds_a_count_of_one_or_two(
    rt: Runtime, client: TestClient[Any], clock: SettableClock
) -> None:
    two_terms_of_work(rt, clock)
    body = client.get(API, headers=bearer(rt, "larare.ostra")).json()
    api = [(c["term"], c["figure"], c["key"], c["count"]) for c in body["counts"]]
    assert body["publishable"] is True and body["threshold"] == 2
    assert all(n is None or n == 0 or n > 2 for *_, n in api)
    assert any(n is None for *_, n in api) and all(c["suppressed"] for c in body["counts"] if c["count"] is None)
    assert post_sign_in(client, kind="staff", user="larare.ostra").status_code == 303
    assert csv_rows(client) == api
    assert "..\r\n" not in client.get("/follow-up.csv").text.split("\r\n", 1)[0]
    page = client.get("/follow-up")
    assert page_tables(page.text, body["terms"], body["figures"]) == api
    assert all(n is None or n == 0 or n > 2 for *_, n in page_tables(page.text, body["terms"], body["figures"]))


def test_the_administrator_sees_the_unsuppressed_figures_and_each_view_is_kept_in_the_areas_log(
    rt: Runtime, client: TestClient[Any], clock: SettableClock
) -> None:
    two_terms_of_work(rt, clock)
    answer = client.get(API, params={"unsuppressed": "true", "from": "2026 vt"}, headers=bearer(rt, "admin.ystad"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    counts = {(c["term"], c["figure"], c["key"]): c["count"] for c in body["counts"]}
    assert body["publishable"] is False and counts[("2026 vt", "discovery_cards", "external")] == 1

    assert post_sign_in(client, kind="staff", user="admin.ystad").status_code == 303
    assert 'name="unsuppressed" value="true"' in client.get("/follow-up").text  # the explicit choice is offered
    page = client.get("/follow-up?unsuppressed=true")
    assert page.status_code == 200 and "inte för publicering" in page.text
    assert csv_rows(client, "?unsuppressed=true")[0][3] == 1

    directory = rt.hub.directory
    assert isinstance(directory, LiveDirectory)
    views = [f for f in directory.history(TENANT) if isinstance(f, UnsuppressedFiguresViewed)]
    assert [(v.viewer_id, v.from_term) for v in views] == [("admin.ystad", "2026 vt"), ("admin.ystad", None), ("admin.ystad", None)]
    assert "Uppgifter utan röjandeskydd visades" in client.get("/directory/history").text


def test_staff_are_refused_the_unsuppressed_figures_and_nothing_is_recorded(
    rt: Runtime, client: TestClient[Any], clock: SettableClock
) -> None:
    two_terms_of_work(rt, clock)
    refused = client.get(API, params={"unsuppressed": "true"}, headers=bearer(rt, "larare.ostra"))
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    assert post_sign_in(client, kind="staff", user="larare.ostra").status_code == 303
    assert 'name="unsuppressed"' not in client.get("/follow-up").text
    assert client.get("/follow-up?unsuppressed=true").status_code == 403
    assert client.get("/follow-up.csv?unsuppressed=true").status_code == 403
    directory = rt.hub.directory
    assert isinstance(directory, LiveDirectory)
    assert not [f for f in directory.history(TENANT) if isinstance(f, UnsuppressedFiguresViewed)]
