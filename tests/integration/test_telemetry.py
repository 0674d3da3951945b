"""Telemetry shows how the hub works and never what it holds. With `BACKA_OTLP_ENDPOINT` a
running hub sends it to an OpenTelemetry collector over OTLP/HTTP; without it, nowhere."""

from __future__ import annotations

import gzip
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
from google.protobuf import text_format
from litestar.testing import TestClient
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from consent import ViewerKind
from contracts.vocabulary import Role
from hub.application.directory_admin import AddStaff
from hub.errors import ConflictError, UnknownStaffError
from hub.http import create_app
from hub.identity.principals import Principal
from hub.identity.tokens import DemoIssuer
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import system_clock
from hub.runtime.telemetry import build_telemetry
from tests.factories import (
    CHILD_PNR,
    GUARDIAN_1_PNR,
    GUARDIAN_2_PNR,
    STAFF,
    TENANT,
    card_payload,
    conversation_payload,
    directory,
)

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


def test_a_refused_command_puts_only_its_kind_of_refusal_in_the_trace_never_what_it_quotes(
    runtime: Runtime, captured: tuple[InMemorySpanExporter, InMemoryMetricReader]
) -> None:
    spans, _ = captured
    admin = Principal(ViewerKind.STAFF, TENANT, "admin.ystad", frozenset({Role.TENANT_ADMIN}))
    person = AddStaff(user_id="anna.markorsson@ystad.example", unit_id="skola-ostra", roles=(Role.DISCOVERER,), name="Anna")
    runtime.hub.add_staff(admin, person)
    with pytest.raises(ConflictError):
        runtime.hub.add_staff(admin, person)  # the id is used: refused
    with pytest.raises(UnknownStaffError):
        runtime.hub.remove_staff(admin, "bo.markorsson@ystad.example")

    exported = json.dumps([json.loads(s.to_json()) for s in spans.get_finished_spans()])
    assert "ConflictError" in exported and "UnknownStaffError" in exported
    assert "markorsson" not in exported


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


# -- export to a real OTLP/HTTP collector ------------------------------------------------------

BACKA = Path(sys.executable).parent / "backa"
START_TIMEOUT = 30.0
CARD_NOTE = "Markörtext om rasten"
READ_PURPOSE = "Markörsyfte teamarbete"
INCOMING_TRACE_ID = "5bf92f3577b34da6a3ce929d0e0e4737"


class Collector:
    """An OTLP/HTTP receiver on 127.0.0.1: decodes what arrives at ``/v1/traces`` and
    ``/v1/metrics`` with the OpenTelemetry protocol's own messages, and keeps the bytes."""

    def __init__(self) -> None:
        self.traces: list[ExportTraceServiceRequest] = []
        self.metrics: list[ExportMetricsServiceRequest] = []
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                kinds: dict[str, tuple[Any, Any]] = {
                    "/v1/traces": (ExportTraceServiceRequest, ExportTraceServiceResponse),
                    "/v1/metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse),
                }
                if self.path not in kinds:
                    self.send_error(404)
                    return
                request, response = kinds[self.path]
                message = request.FromString(body)
                with collector._lock:
                    collector.bodies.append(body)
                    (collector.traces if self.path == "/v1/traces" else collector.metrics).append(message)
                answer = response().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="otlp-collector", daemon=True)
        self.thread.start()

    def spans(self) -> list[Any]:
        with self._lock:
            return [s for t in self.traces for rs in t.resource_spans for ss in rs.scope_spans for s in ss.spans]

    def metric_names(self) -> set[str]:
        with self._lock:
            return {m.name for r in self.metrics for rm in r.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}

    def everything(self) -> str:
        """Every decoded message as text, and every body as it arrived."""
        with self._lock:
            messages = [*self.traces, *self.metrics]
            bodies = list(self.bodies)
        return "\n".join(text_format.MessageToString(m, as_utf8=True) for m in messages) + "\n".join(
            b.decode("utf-8", errors="replace") for b in bodies
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServedHub:
    """``backa serve`` in a process of its own, in demo mode on SQLite, with the test directory."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        data_dir.mkdir(parents=True)
        directory().save(data_dir / "directory.json")
        self.issuer = DemoIssuer.from_folder(data_dir / "demo", "backa-hub", system_clock)
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("BACKA_", "OTEL_"))}
        self.process = subprocess.Popen(
            [str(BACKA), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env={**clean, "BACKA_DATA_DIR": str(data_dir), "BACKA_STORE": "sqlite", "BACKA_DEMO_MODE": "true", **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/ready", timeout=2.0).status_code == 200:  # built, its views caught up
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail("the hub did not start serving", pytrace=False)

    def staff(self, user_id: str, **extra: str) -> dict[str, str]:
        unit, roles = STAFF[user_id]
        return {"Authorization": f"Bearer {self.issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles))}", **extra}

    def stop(self) -> str:
        """SIGTERM, as a service manager stops it; what it wrote to stderr."""
        self.process.terminate()
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate(timeout=5)
        return err.decode("utf-8", errors="replace")


def register_and_read(hub: ServedHub) -> str:
    """Over HTTP: a child registered with its guardians, a card with free text, a Barnkontakt,
    and a read with a free-text purpose. Returns the child's id."""
    with httpx.Client(base_url=hub.url, timeout=10.0) as client:
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
            headers=hub.staff("larare.ostra", traceparent=f"00-{INCOMING_TRACE_ID}-00f067aa0ba902b7-01"),
        )
        assert r.status_code == 201, r.text
        child = f"{API}/children/{r.json()['child_id']}"
        card = card_payload()
        card["own_support_taken"] = CARD_NOTE
        assert client.post(f"{child}/discovery-cards", json=card, headers=hub.staff("polis.ystad")).status_code == 201
        bk = hub.staff("rektor.ostra")
        assert client.post(f"{child}/barnkontakt", json={"staff_id": "rektor.ostra"}, headers=bk).status_code == 201
        read = client.get(child, params={"purpose": READ_PURPOSE}, headers=bk)
        assert read.status_code == 200, read.text
        fields = [item["fields"] for item in read.json()["items"]]
        assert any(f.get("given_name") == CHILD_GIVEN for f in fields)  # what the spans must not carry
        return str(r.json()["child_id"])


def until(condition: Callable[[], bool], seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_a_running_hub_exports_its_requests_spans_and_metrics_to_the_otlp_endpoint_without_personal_data(
    tmp_path: Path, collector: Collector
) -> None:
    hub = ServedHub(
        tmp_path / "data",
        BACKA_OTLP_ENDPOINT=collector.url,
        OTEL_BSP_SCHEDULE_DELAY="100",  # the SDK's own knobs: export soon, so the test need not wait
        OTEL_METRIC_EXPORT_INTERVAL="300",
    )
    try:
        child_id = register_and_read(hub)
        trace_id = bytes.fromhex(INCOMING_TRACE_ID)

        def names() -> set[str]:
            return {s.name for s in collector.spans() if s.trace_id == trace_id}

        assert until(lambda: {"HTTP POST /api/v1/children", "backa.command register_child", "backa.append"} <= names()), names()
        assert until(lambda: {"backa.commands", "backa.reads", "backa.append.duration"} <= collector.metric_names())
        assert until(lambda: any(s.name == "backa.read read_child" for s in collector.spans())), "the read's span arrives while the hub runs"
    finally:
        errors = hub.stop()
    server_spans = [s for s in collector.spans() if s.name == "HTTP POST /api/v1/children" and s.trace_id == trace_id]
    status = {kv.key: kv.value.int_value for kv in server_spans[0].attributes}
    assert status.get("http.response.status_code") == 201
    forbidden = [*markers(), CARD_NOTE, READ_PURPOSE, child_id]
    forbidden += [quote(m) for m in forbidden] + [quote_plus(m) for m in forbidden]  # as a URL would carry them
    found = sorted({m for m in forbidden if m in collector.everything()})
    assert found == [], "personal data, free text or a child id reached the collector"
    assert all(m not in errors for m in markers())


def test_without_an_otlp_endpoint_the_hub_exports_nothing_even_where_the_sdk_would(
    tmp_path: Path, collector: Collector
) -> None:
    """The hub's own setting decides: the SDK's standard variable alone sends nothing."""
    hub = ServedHub(tmp_path / "data", OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, OTEL_BSP_SCHEDULE_DELAY="100")
    try:
        register_and_read(hub)
        time.sleep(1.0)
    finally:
        hub.stop()
    assert collector.traces == [] and collector.metrics == []


def test_an_export_to_a_collector_that_never_answers_gives_up_within_the_timeout() -> None:
    """A collector that takes the connection and never answers costs the hub at most the
    export timeout at shutdown, and nothing on the request path."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel accepts connections; nobody reads or answers
    try:
        telemetry = build_telemetry(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.5)
        started = time.monotonic()
        with telemetry.span("backa.command register_child"):
            telemetry.commands.add(1, {"backa.command": "register_child", "outcome": "ok"})
        assert time.monotonic() - started < 0.2, "a span never waits for the collector"
        started = time.monotonic()
        telemetry.shutdown()
        assert time.monotonic() - started < 5.0
    finally:
        silent.close()
