"""Errors as RFC 9457 problem details: the one place where a refusal becomes HTTP.

Every answer that is not a success is ``application/problem+json`` with ``type``,
``title``, ``status``, ``detail`` and ``errors`` (the failing fields, each with a
message). Details come from the core's messages, which name ids and rules and never
a person's data, or are written here; input values are never echoed, and nothing
unexpected leaks beyond a generic 500.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    SerializationException,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec

from contracts.upcasting import SchemaVersionError
from hub.errors import (
    ChildNotFoundError,
    ConflictError,
    ConsentError,
    ErasureUnavailableError,
    HubError,
    InvalidInputError,
    NoBasisError,
    NoSessionError,
    NotAuthenticatedError,
    NotPermittedError,
    OutOfOrderError,
    RecordErasedError,
    RegisterUnavailableError,
    SignInUnavailableError,
    StoreUnavailableError,
    TooManyAttemptsError,
    UnknownStaffError,
    UnknownUnitError,
    ViewsCatchingUpError,
    ViewsStoppedError,
)
from hub.http.schemas import Problem
from hub.http.strict_json import BodyRefusedError
from hub.identity.sessions import CookieNames, SessionEndedError, cookie_names
from hub.tlog.errors import CheckpointNotFoundError, LogIntegrityError, PositionNotFoundError, TransparencyError
from hub.tlog.witness import WitnessLostError

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:backa:problem:"
AUTH_FIELD = "Authorization"
REALM = "backa"

log = logging.getLogger("hub.http")


class MissingBearerTokenError(NotAuthenticatedError):
    """The request carried no bearer token at all (RFC 6750 3.1: no error code then)."""


# The core's refusals: status, problem type, and (where the core's message would echo
# the caller's input) the detail said instead.
HUB_ERRORS: dict[type[HubError], tuple[int, str, str | None]] = {
    InvalidInputError: (422, "invalid-input", None),
    UnknownUnitError: (422, "unknown-unit", "no such unit in this cooperation area"),
    UnknownStaffError: (422, "unknown-staff", "no such staff member in this cooperation area"),
    NotAuthenticatedError: (401, "not-authenticated", None),
    NotPermittedError: (403, "not-permitted", None),
    NoBasisError: (403, "no-basis", None),
    NoSessionError: (404, "no-session", None),
    ChildNotFoundError: (404, "child-not-found", "no child with this id in your cooperation area"),
    OutOfOrderError: (409, "out-of-order", None),
    ConflictError: (409, "conflict", None),
    ConsentError: (409, "consent-refused", None),
    RecordErasedError: (410, "record-erased", "this child's record has been erased"),
    ErasureUnavailableError: (409, "erasure-unavailable", None),
    StoreUnavailableError: (503, "store-unavailable", None),
    TooManyAttemptsError: (429, "too-many-attempts", None),
    SignInUnavailableError: (503, "sign-in-unavailable", None),
    RegisterUnavailableError: (503, "register-unavailable", None),
    ViewsCatchingUpError: (503, "views-catching-up", "the hub is bringing its views up to date; try again shortly"),
    ViewsStoppedError: (503, "views-stopped", None),
    TransparencyError: (422, "invalid-input", None),
    CheckpointNotFoundError: (404, "checkpoint-not-found", None),
    PositionNotFoundError: (404, "log-position-not-found", None),
    WitnessLostError: (503, "witness-lost", None),
    LogIntegrityError: (500, "log-integrity", None),
}

HTTP_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not permitted",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    408: "Request body too slow",
    409: "Conflict",
    410: "Gone",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    kind: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + kind if kind else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": errors or [],
        **extensions,
    }
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _lookup(exc: HubError) -> tuple[int, str, str | None]:
    for cls in type(exc).__mro__:
        if cls in HUB_ERRORS:
            return HUB_ERRORS[cls]  # type: ignore[index]
    return (400, "refused", None)


def _www_authenticate(exc: NotAuthenticatedError) -> str:
    if isinstance(exc, MissingBearerTokenError):
        return f'Bearer realm="{REALM}"'
    description = re.sub(r'["\\]', "", exc.detail)
    return f'Bearer realm="{REALM}", error="invalid_token", error_description="{description}"'


def retry_after(exc: HubError) -> dict[str, str]:
    """When to ask again (RFC 9110 10.2.3), for a refusal that passes: a limit's window
    (RFC 6585 4), a store that could not be reached."""
    if isinstance(exc, TooManyAttemptsError | ViewsCatchingUpError):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, StoreUnavailableError | SignInUnavailableError):
        return {"Retry-After": "5"}
    return {}


def hub_error_to_problem(
    request: Request[Any, Any, Any], exc: HubError, cookies: CookieNames | None = None
) -> Response[dict[str, Any]]:
    """``cookies`` names the session cookie a :class:`SessionEndedError` clears (over HTTPS
    when not given)."""
    status, kind, fixed_detail = _lookup(exc)
    detail = fixed_detail or exc.detail
    errors: list[dict[str, str]]
    if isinstance(exc, InvalidInputError) and exc.errors:
        errors = [{"field": str(e.get("field") or "body"), "message": str(e.get("message", ""))} for e in exc.errors]
    elif isinstance(exc, NotAuthenticatedError):
        errors = [{"field": exc.field or AUTH_FIELD, "message": exc.detail}]
    elif exc.field:
        errors = [{"field": exc.field, "message": fixed_detail or exc.detail}]
    else:
        errors = []
    headers: dict[str, str] = {}
    extensions: dict[str, Any] = {}
    if isinstance(exc, NotAuthenticatedError):
        headers["WWW-Authenticate"] = _www_authenticate(exc)
    if isinstance(exc, SessionEndedError):
        # the browser stops sending a cookie that will never work again
        names = cookies or cookie_names(secure=True)
        secure = "; Secure" if names.secure else ""  # a __Host- cookie is only cleared with Secure
        headers["Set-Cookie"] = f"{names.session}=; Max-Age=0; Path=/{secure}; HttpOnly; SameSite=Strict"
    headers.update(retry_after(exc))
    return problem(status, exc.title, detail, kind=kind, errors=errors, headers=headers or None, **extensions)


_MISSING_PARAMETER = re.compile(r"Missing required (\w+) parameter '([^']+)'")


def _validation_errors(exc: ValidationException) -> list[dict[str, str]]:
    """Litestar's validation messages as named fields; the body's fields by their own names."""
    extra = exc.extra
    if isinstance(extra, list) and extra:
        errors = []
        for item in extra:
            if not isinstance(item, dict):
                continue
            key = str(item.get("key") or "")
            message = str(item.get("message") or "invalid value")
            if key in ("", "data"):
                if key == "data":
                    message = "a JSON body is required"
                key = "body"
            errors.append({"field": key, "message": message})
        if errors:
            return errors
    match = _MISSING_PARAMETER.search(exc.detail or "")
    if match:
        return [{"field": match.group(2), "message": f"this {match.group(1)} parameter is required"}]
    return [{"field": "body", "message": "the request does not have the expected shape"}]


def http_exception_to_problem(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if status >= 500:
        return unexpected_to_problem(request, exc)
    if isinstance(exc, BodyRefusedError):
        return problem(status, exc.title, exc.detail, kind=exc.kind, errors=[{"field": exc.field, "message": exc.detail}])
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
        return problem(422, "Invalid input", f"these fields are not valid: {fields}", kind="invalid-input", errors=errors)
    if isinstance(exc, ClientException) and status == 400 and isinstance(exc.__cause__, SerializationException):
        return problem(
            400,
            "Malformed JSON",
            "the request body is not valid JSON",
            kind="malformed-json",
            errors=[{"field": "body", "message": "not valid JSON"}],
        )
    if status == 413:
        try:
            limit = request.route_handler.resolve_request_max_body_size()
        except Exception:  # noqa: BLE001 - no route, no limit to name
            limit = None
        message = f"the body may be at most {limit} bytes" if limit else "the body is too large"
        return problem(413, HTTP_TITLES[413], message, kind="body-too-large", errors=[{"field": "body", "message": message}])
    if isinstance(exc, NotFoundException):
        return problem(404, HTTP_TITLES[404], "no such resource")
    headers = None
    if isinstance(exc, MethodNotAllowedException) and exc.headers:
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
    title = HTTP_TITLES.get(status, "Request refused")
    return problem(status, title, title.lower(), headers=headers)


def unexpected_to_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Anything not foreseen: a generic 500. The log names the error's kind and place, never its message."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    # the route, not the path: a path holds the child's id, which no log may carry
    route = request.scope.get("path_template") or "?"
    log.error("unexpected %s at %s on %s %s", type(exc).__name__, where, request.method, route)
    return problem(500, HTTP_TITLES[500], "the hub could not complete the request; nothing about it is shown here")


UNREADABLE_FACT = (
    "the hub holds a fact written by a later release, which this release cannot read; "
    "the request can be answered once the hub is upgraded"
)


def unreadable_fact_to_problem(request: Request[Any, Any, Any], exc: SchemaVersionError) -> Response[dict[str, Any]]:
    """A stored fact of a version this release cannot read (a later release's, after a
    roll-back): the operator's to mend, so a 500, but one saying what is wrong rather than
    nothing. Its message names the event type and versions, never the fact or the child."""
    route = request.scope.get("path_template") or "?"
    log.error("a request on %s %s met a fact this release cannot read: %s", request.method, route, exc)
    return problem(500, "Unreadable fact", UNREADABLE_FACT, kind="unreadable-fact")


def exception_handlers(cookies: CookieNames | None = None) -> dict[type[Exception], Any]:
    """The problem answers; ``cookies`` names the session cookie an ended session clears."""

    def hub_error(request: Request[Any, Any, Any], exc: HubError) -> Response[dict[str, Any]]:
        return hub_error_to_problem(request, exc, cookies)

    return {
        HubError: hub_error,
        HTTPException: http_exception_to_problem,
        SchemaVersionError: unreadable_fact_to_problem,
        Exception: unexpected_to_problem,
    }


def problem_responses(*statuses: int, authenticated: bool = True) -> dict[int, ResponseSpec]:
    """The problem answers a handler may give, for the OpenAPI document.

    400 (malformed JSON) and 422 (invalid fields) are always listed, replacing the
    framework's own 400 entry, whose shape this API does not use; 410 goes with 404; 503
    with every authenticated route, which admission control may refuse (:mod:`hub.http.admission`).
    """
    codes = {400, 422, 500, *statuses} | ({401, 429, 503} if authenticated else set())  # 503: refused for load
    if 404 in codes and authenticated:
        codes.add(410)  # what addresses a child may find its record erased
    return {
        s: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=HTTP_TITLES.get(s, "Problem"),
            generate_examples=False,
        )
        for s in sorted(codes)
    }
