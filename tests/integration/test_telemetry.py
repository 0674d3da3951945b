"""Telemetry shows how the hub works and never what it holds."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hub.http import create_app
from hub.runtime.bootstrap import Runtime
from hub.runtime.telemetry import build_telemetry
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, STAFF, TENANT, card_payload, conversation_payload

API = "/api/v1"
CHILD_GIVEN, CHILD_FAMILY = "Markörbarn", "Spårlösdotter"
GUARDIAN_NAMES = ("Markörförälder Ett", "Markörförälder Två")
INCOMING_TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def captured(runtime: Runtime) -> Iterator[tuple[InMemorySpanExporter, InMemoryMetricReader]]:
    spans, metrics = InMemorySpanExporter(), InMemoryMetricReader()
    runtime.hub.telemetry = build_telemetry(span_exporter=spans, metric_reader=metrics)
    yield spans, metrics


def staff_headers(rt: Runtime, user_id: str, **extra: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    unit, roles = STAFF[user_id]
    return {"Authorization": f"Bearer {rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles))}", **extra}


def guardian_headers(rt: Runtime, pnr: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    return {"Authorization": f"Bearer {rt.demo_issuer.family_token(TENANT, 'guardian', pnr)}"}


def run_process(rt: Runtime, client: TestClient[Any]) -> str:
    """A child through card, Barnkontakt, conversation, consent from both guardians and reads."""
    r = client.post(
        f"{API}/children",
        json={
            "personnummer": CHILD_PNR,
            "given_name": CHILD_GIVEN,
            "family_name": CHILD_FAMILY,
            "guardians": [
                {"name": GUARDIAN_NAMES[0], "personnummer": GUARDIAN_1_PNR, "has_custody": True},
                {"name": GUARDIAN_NAMES[1], "personnummer": GUARDIAN_2_PNR, "has_custody": True},
            ],
        },
        headers=staff_headers(rt, "larare.ostra", traceparent=INCOMING_TRACE),
    )
    assert r.status_code == 201, r.text
    child = f"{API}/children/{r.json()['child_id']}"
    bk = staff_headers(rt, "rektor.ostra")
    assert client.post(f"{child}/discovery-cards", json=card_payload(), headers=staff_headers(rt, "polis.ystad")).status_code == 201
    assert client.post(f"{child}/barnkontakt", json={"staff_id": "rektor.ostra"}, headers=bk).status_code == 201
    assert client.post(f"{child}/conversations", json=conversation_payload(), headers=bk).status_code == 201
    consent = client.post(
        f"{child}/consents",
        json={"recipients": [{"unit_id": "elevhalsa-ostra"}], "categories": ["identity", "needs"], "purpose": "Barnteam"},
        headers=bk,
    )
    assert consent.status_code == 201, consent.text
    consent_id = consent.json()["consent_id"]
    for pnr in (GUARDIAN_1_PNR, GUARDIAN_2_PNR):
        assert client.post(f"{child}/consents/{consent_id}/grant", headers=guardian_headers(rt, pnr)).status_code == 201
    assert client.get(child, params={"purpose": "teamarbete"}, headers=staff_headers(rt, "kurator.ostra")).status_code == 200
    assert client.get(child, params={"purpose": "utanför"}, headers=staff_headers(rt, "bup.ystad")).status_code == 404
    assert client.get(f"{child}/access-log", headers=guardian_headers(rt, GUARDIAN_1_PNR)).status_code == 200
    return r.json()["child_id"]


def markers() -> list[str]:
    pnrs = [CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR]
    return [CHILD_GIVEN, CHILD_FAMILY, *GUARDIAN_NAMES] + pnrs + [p[2:] for p in pnrs] + [f"{p[2:8]}-{p[8:]}" for p in pnrs]


def test_no_personal_data_reaches_spans_metrics_or_logs(
    runtime: Runtime, captured: tuple[InMemorySpanExporter, InMemoryMetricReader], caplog: pytest.LogCaptureFixture
) -> None:
    spans, metrics = captured
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(runtime)) as client:
        run_process(runtime, client)
    exported = [json.loads(s.to_json()) for s in spans.get_finished_spans()]
    metric_data = metrics.get_metrics_data()
    assert exported and metric_data is not None
    everything = json.dumps(exported, ensure_ascii=False) + metric_data.to_json() + "\n".join(
        f"{r.name} {r.getMessage()} {r.args}" for r in caplog.records
    )
    found = [m for m in markers() if m in everything]
    assert found == []


def test_a_request_traces_through_command_append_and_views_in_one_trace(
    runtime: Runtime, captured: tuple[InMemorySpanExporter, InMemoryMetricReader]
) -> None:
    spans, _ = captured
    with TestClient(create_app(runtime)) as client:
        run_process(runtime, client)
    finished = spans.get_finished_spans()
    incoming_trace_id = int(INCOMING_TRACE.split("-")[1], 16)
    registration = [s for s in finished if s.context.trace_id == incoming_trace_id]
    names = {s.name for s in registration}
    assert "HTTP POST /api/v1/children" in names
    assert {"backa.command register_child", "backa.append", "backa.project"} <= names
    server = next(s for s in registration if s.name == "HTTP POST /api/v1/children")
    assert server.parent is not None and server.parent.span_id == int(INCOMING_TRACE.split("-")[2], 16)
    assert server.attributes["http.response.status_code"] == 201
    command = next(s for s in registration if s.name == "backa.command register_child")
    assert command.parent is not None and command.parent.span_id == server.context.span_id


def test_each_fact_keeps_the_trace_it_was_appended_under(
    runtime: Runtime, captured: tuple[InMemorySpanExporter, InMemoryMetricReader]
) -> None:
    with TestClient(create_app(runtime)) as client:
        run_process(runtime, client)
    first = runtime.hub.recorder.select_notifications(1, 1)[0]
    recorded = runtime.hub.mapper.to_domain_event(first)
    assert recorded.fact.type_name == "backa.v1.ChildRegistered"
    assert recorded.traceparent is not None
    assert recorded.traceparent.split("-")[1] == INCOMING_TRACE.split("-")[1]


def test_metrics_count_commands_reads_decisions_and_time_appends(
    runtime: Runtime, captured: tuple[InMemorySpanExporter, InMemoryMetricReader]
) -> None:
    _, metrics = captured
    with TestClient(create_app(runtime)) as client:
        run_process(runtime, client)
    data = metrics.get_metrics_data()
    assert data is not None
    points: dict[str, list[Any]] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                points.setdefault(metric.name, []).extend(metric.data.data_points)
    assert {"backa.append.duration", "backa.projection.lag", "backa.consent.decisions", "backa.reads", "backa.commands"} <= set(points)
    grants = [p for p in points["backa.commands"] if p.attributes == {"backa.command": "grant_consent", "outcome": "ok"}]
    assert grants and grants[0].value == 2
    refused = [p for p in points["backa.reads"] if p.attributes.get("outcome") == "ChildNotFoundError"]  # no part in the case
    assert refused and refused[0].value == 1
    denials = sum(p.value for p in points["backa.consent.decisions"] if p.attributes["outcome"] == "deny")
    allows = sum(p.value for p in points["backa.consent.decisions"] if p.attributes["outcome"] == "allow")
    assert denials > 0 and allows > 0
