"""Traces and metrics: how the hub is working, never what it holds.

Span and metric attributes are chosen from a closed set (command and view names, event
type names, outcomes, legal bases, reason codes, counts); no child id, name, personal
identity number or free text ever becomes an attribute. Export goes to OTLP when an
endpoint is configured and nowhere by default. Providers belong to the hub instance,
not to the process, so two hubs (or two tests) never share telemetry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

SERVICE = "backa-hub"
DEFAULT_EXPORT_TIMEOUT = 10.0
"""Seconds one export to the collector may take, retries included."""


@dataclass
class Telemetry:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def __post_init__(self) -> None:
        self.tracer: Tracer = self.tracer_provider.get_tracer("backa.hub")
        meter = self.meter_provider.get_meter("backa.hub")
        self.append_latency = meter.create_histogram(
            "backa.append.duration", unit="ms", description="Time to append facts to the log"
        )
        self.projection_lag = meter.create_histogram(
            "backa.projection.lag", unit="{fact}", description="Facts the views were behind the log when they caught up"
        )
        self.relay_lag = meter.create_histogram(
            "backa.relay.lag", unit="ms", description="Time from a fact's commit to its delivery to a unit"
        )
        self.consent_decisions = meter.create_counter(
            "backa.consent.decisions", unit="{decision}", description="Policy decisions by outcome, basis and reason"
        )
        self.permission_decisions = meter.create_counter(
            "backa.permission.decisions", unit="{decision}", description="Who-may-act decisions by action, outcome and rule"
        )
        self.reads_served = meter.create_counter(
            "backa.reads", unit="{read}", description="Reads of children's information served, by view and outcome"
        )
        self.commands = meter.create_counter(
            "backa.commands", unit="{command}", description="Commands by name and outcome"
        )

    @contextmanager
    def span(self, name: str, kind: SpanKind = SpanKind.INTERNAL, **attributes: str | int | bool) -> Iterator[Span]:
        # the exception's kind only: the SDK would record its message and stack as an event,
        # and a refusal's message may quote what was asked for (a user id, an e-mail address)
        with self.tracer.start_as_current_span(
            name, kind=kind, attributes=attributes, record_exception=False, set_status_on_exception=False
        ) as span:
            try:
                yield span
            except Exception as e:
                span.set_status(Status(StatusCode.ERROR, type(e).__name__))
                span.set_attribute("backa.error", type(e).__name__)
                raise

    def shutdown(self) -> None:
        if getattr(self, "_shut", False):
            return
        self._shut = True
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def build_telemetry(
    otlp_endpoint: str | None = None,
    *,
    timeout: float = DEFAULT_EXPORT_TIMEOUT,
    span_exporter: SpanExporter | None = None,
    metric_reader: MetricReader | None = None,
) -> Telemetry:
    """Telemetry that goes to ``span_exporter``/``metric_reader`` (tests), to an OTLP/HTTP
    collector at ``otlp_endpoint`` (``/v1/traces`` and ``/v1/metrics`` under it), or nowhere.

    Spans leave in batches and metrics periodically, from threads of their own, so a
    request never waits for the collector. Each export, retries included, gives up after
    ``timeout`` seconds: a collector that is away costs dropped telemetry, and at most that
    long at shutdown, never a hub that hangs. The OpenTelemetry SDK's own variables
    (``OTEL_BSP_SCHEDULE_DELAY``, ``OTEL_METRIC_EXPORT_INTERVAL``) tune how often.
    """
    resource = Resource.create({"service.name": SERVICE})
    tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    readers: list[MetricReader] = []
    millis = int(timeout * 1000)
    if span_exporter is not None:
        tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    elif otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )

        exporter = OTLPSpanExporter(endpoint=_under(otlp_endpoint, "v1/traces"), timeout=timeout)
        tracer_provider.add_span_processor(BatchSpanProcessor(exporter, export_timeout_millis=millis))
    if metric_reader is not None:
        readers.append(metric_reader)
    elif otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
            OTLPMetricExporter,
        )

        metrics = OTLPMetricExporter(endpoint=_under(otlp_endpoint, "v1/metrics"), timeout=timeout)
        readers.append(PeriodicExportingMetricReader(metrics, export_timeout_millis=millis))
    return Telemetry(tracer_provider, MeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False))


def _under(endpoint: str, path: str) -> str:
    return f"{endpoint.rstrip('/')}/{path}"


def current_traceparent() -> str | None:
    """The W3C trace context of the current span, to keep with a fact or send in a header."""
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def continued(carrier: Mapping[str, str] | None) -> Iterator[None]:
    """Run inside the trace context ``carrier`` holds (incoming HTTP or NATS headers)."""
    token = otel_context.attach(extract(dict(carrier or {})))
    try:
        yield
    finally:
        otel_context.detach(token)


def headers_with_context(headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """``headers`` plus the current trace context (for NATS messages)."""
    out = dict(headers or {})
    inject(out)
    return out
