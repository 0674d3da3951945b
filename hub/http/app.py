"""The app factory: the hub's HTTP API on Litestar.

``create_app(runtime)`` builds everything from the runtime ``bootstrap`` made; nothing
happens at import time. Routes live under ``/api/v1`` and need a bearer token; the
health check (``/health``) and the OpenAPI document (``/api/v1/schema/openapi.json``)
do not. The web pages sign in once and carry a session cookie instead (``/api/v1/sessions``). Every answer under ``/api/v1`` carries ``Cache-Control: no-store``: a child's
information must not stay in a browser's or a proxy's cache. Beyond the work one process
can take, a request is refused at once with 503 and ``Retry-After`` (:mod:`hub.http.admission`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from litestar import HttpMethod, Litestar, Request, route
from litestar.concurrency import get_asyncio_executor, set_asyncio_executor
from litestar.datastructures import MutableScopeHeaders
from litestar.di import NamedDependency, Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag
from litestar.types import Message, Scope

from contracts import events
from hub.application import BackaHub, readmodels
from hub.runtime.bootstrap import Runtime
from hub.runtime.settings import Settings
from hub.application import commands
from hub.http import directory_schemas, schemas
from hub.application import directory_admin
from contracts import directory as directory_facts
from hub.http.body_deadline import body_deadline
from hub.http.admission import QUEUE_PER_PLACE, AdmissionLimits, in_front
from hub.http.auth import BearerTokenMiddleware
from hub.http.controllers import API_CONTROLLERS
from hub.http.controllers.sessions import session_controller
from hub.http.openapi_document import LazyOpenAPI, closed_objects_marker
from hub.http.origin import same_origin_only
from hub.http.problems import exception_handlers, problem_responses
from hub.http.readiness import ready_route
from hub.http.schemas import Health
from hub.http.strict_json import StrictJsonRequest, json_bodies_only
from hub.web.app import OneAppRouter, web_router
from hub.identity.principals import Principal
from hub.identity.sessions import Session, SessionEndedError, cookie_names
from hub.identity.tokens import Verified
from hub.runtime.telemetry import continued
from opentelemetry.trace import SpanKind

API_PREFIX = "/api/v1"
SCHEMA_PATH = f"{API_PREFIX}/schema"
SECURITY_SCHEME = "bearer"


def _caller(request: Request[Principal, Any, Any], hub: NamedDependency[BackaHub]) -> Principal:
    """The caller, resolved after ``hub``: Litestar resolves independent dependencies side
    by side, each in a task of its own, which costs a request more than both together."""
    return request.user


def _traced_requests(runtime: Runtime) -> Any:
    """A server span per request, continuing the caller's W3C trace context.

    Written here rather than taken from the generic ASGI instrumentation because that
    records the full URL and query string, which carry child ids and read purposes; this
    span names only the method, the route template and the status.
    """

    def factory(app: Any) -> Any:
        async def middleware(scope: Scope, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
            route = str(scope.get("path_template") or "unmatched")
            method = str(scope.get("method", ""))
            with continued(headers), runtime.hub.telemetry.span(
                f"HTTP {method} {route}", kind=SpanKind.SERVER, **{"http.request.method": method, "http.route": route}
            ) as span:

                async def send_with_status(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        span.set_attribute("http.response.status_code", int(message["status"]))
                    await send(message)

                await app(scope, receive, send_with_status)

        return middleware

    return factory


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
"""The pages load nothing from elsewhere and run no inline script (OWASP ASVS V14.4.3)."""


async def _private_answers(message: Message, scope: Scope) -> None:
    """No caching anywhere of what the API or a page answers (the static files aside); no
    content sniffing, no framing, nothing loaded from another site."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    if not str(scope.get("path", "")).startswith("/static/"):
        headers["Cache-Control"] = "no-store"


def _request_threads(count: int) -> None:
    """Handlers run in worker threads; most of a command's time is spent waiting for the
    database, and concurrent commands share its transactions, so the hub wants more of
    them than the interpreter's default (CPUs + 4). Set before the server's loop runs."""
    current = get_asyncio_executor()
    if current is not None and current._max_workers == count:  # noqa: SLF001 - no public getter
        return
    try:
        set_asyncio_executor(ThreadPoolExecutor(max_workers=count, thread_name_prefix="backa-request"))
    except RuntimeError:
        return  # made inside a running loop: the threads in use stay (hub.http.asgi sets a worker's)
    if current is not None:
        current.shutdown(wait=False)


def _limits(settings: Settings) -> AdmissionLimits:
    """Places default to the request threads: more would only wait, unseen, for a thread."""
    in_flight = settings.admission_in_flight or settings.http_threads
    return AdmissionLimits(
        in_flight=in_flight,
        queue=settings.admission_queue if settings.admission_queue is not None else QUEUE_PER_PLACE * in_flight,
        queue_seconds=settings.admission_queue_seconds,
        deadline_seconds=settings.request_deadline_seconds,
        retry_after_seconds=settings.retry_after_seconds,
    )


def create_app(runtime: Runtime) -> Litestar:
    """The HTTP API over ``runtime.hub``, authenticating with ``runtime.verifier``."""
    _request_threads(runtime.settings.http_threads)

    # Closures over the runtime, never the runtime's parts as arguments: Litestar
    # deep-copies routers, and a copied hub, verifier or clock would drift from the real one.
    def provide_hub() -> BackaHub:
        return runtime.hub

    def verify(token: str) -> Verified:
        return runtime.verifier.authenticate(token)

    def recall(token: str) -> Verified | None:
        return runtime.verifier.recall(token)

    def refused(client: str) -> None:
        if runtime.throttle is not None:
            runtime.throttle.token_failed(client)

    def resume(session_id: str) -> Session:
        if runtime.sessions is None:
            raise SessionEndedError()
        return runtime.sessions.resume(session_id)

    cookies = cookie_names(runtime.settings.session_cookie_secure)
    controllers = list(API_CONTROLLERS)
    if runtime.sessions is not None:
        controllers.append(session_controller(runtime, cookies))

    @route("/health", http_method=[HttpMethod.GET, HttpMethod.HEAD], summary="Is the hub's process alive", tags=["system"], responses=problem_responses(authenticated=False))
    async def health() -> Health:
        """Liveness: answered from the server's event loop, without asking the store, so a
        stalled database never hangs it, and never refused for load. Whether the hub can
        serve requests is a separate question (readiness)."""
        return Health(status="ok")

    api = OneAppRouter(
        path=API_PREFIX,
        route_handlers=controllers,
        dependencies={
            "hub": Provide(provide_hub, sync_to_thread=False),
            "caller": Provide(_caller, sync_to_thread=False),
        },
        middleware=[
            DefineMiddleware(
                BearerTokenMiddleware, verify=verify, resume=resume, refused=refused, session_cookie=cookies.session,
                deadline=runtime.settings.token_check_seconds, recall=recall,
            )
        ],
        security=[{SECURITY_SCHEME: []}],
        request_class=StrictJsonRequest,
        before_request=json_bodies_only,
    )
    openapi = OpenAPIConfig(
        title="Backa barnet hub",
        version="1",
        description=(
            "Share what matters about a child between the units of a cooperation area, only as far as the "
            "guardians' consent or the law allows; every read is recorded. Errors are RFC 9457 problem details."
        ),
        path=SCHEMA_PATH,
        render_plugins=[JsonRenderPlugin()],
        use_handler_docstrings=True,
        components=Components(
            security_schemes={
                SECURITY_SCHEME: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="JWT",
                    description="Staff tokens name tenant, unit and roles; family tokens the guardian or the child.",
                )
            }
        ),
        tags=[
            Tag(name="children"),
            Tag(name="support process"),
            Tag(name="consent"),
            Tag(name="cases"),
            Tag(name="family"),
            Tag(name="audit"),
            Tag(name="follow-up"),
            Tag(name="documents"),
            Tag(name="imports"),
            Tag(name="directory"),
            Tag(name="deliveries"),
            Tag(name="fhir"),
            Tag(name="sessions"),
            Tag(name="system"),
        ],
    )
    pages, templates, static = web_router(runtime)
    document = LazyOpenAPI(SCHEMA_PATH, closed_objects_marker((schemas, directory_schemas, readmodels, commands, directory_admin, events, directory_facts)))
    app = Litestar(
        route_handlers=[health, ready_route(runtime), api, pages, static],
        template_config=templates,
        middleware=[
            _traced_requests(runtime),
            body_deadline(runtime.settings.request_deadline_seconds),
            same_origin_only,
            document.middleware,
        ],
        exception_handlers=exception_handlers(cookies),
        request_max_body_size=runtime.settings.max_body_bytes,
        before_send=[_private_answers],
        openapi_config=openapi,
        debug=False,
    )
    document.attach(app)  # built on first request, not here: it would delay the first /health
    in_front(app, _limits(runtime.settings))
    return app
