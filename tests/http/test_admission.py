"""Load is shed, not queued without end: a real server with few places, a stalled store
and many callers at once. Past the places and the queue, callers are refused at once with
503 problem+json and ``Retry-After``; every accepted request is answered 200 once the
store moves again; a read past its deadline is answered 503 and keeps its place until its
handler ends; health and the static files are never refused."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hub.http.admission import FULL, LATE, WAITED_TOO_LONG, WOULD_WAIT_TOO_LONG
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import STAFF, TENANT, directory, registration_payload
from tests.http.served import Hold, served

CASE_LIST = "/api/v1/case-list"
CHILDREN = "/api/v1/children"
CALLERS = 20
ANSWERED_AT_ALL = 10.0
"""Generous: how long a caller waits for any answer, where a hub without admission control
answers no one until the store moves again."""


def hub_with(clock: SettableClock, **settings: Any) -> Runtime:
    return bootstrap(Settings(store="memory", demo_mode=True, **settings), clock=clock, directory=directory())


@pytest.fixture
def make_hub(clock: SettableClock) -> Iterator[Any]:
    made: list[Runtime] = []

    def make(**settings: Any) -> Runtime:
        made.append(hub_with(clock, **settings))
        return made[-1]

    yield make
    for rt in made:
        rt.close()


def bearer(rt: Runtime, user_id: str = "rektor.ostra") -> dict[str, str]:
    assert rt.demo_issuer is not None
    unit, roles = STAFF[user_id]
    return {"Authorization": f"Bearer {rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles))}"}


def held_reads(rt: Runtime) -> Hold:
    hold = Hold(rt.hub.case_list)
    rt.hub.case_list = hold  # type: ignore[method-assign]
    return hold


async def crowd(url: str, headers: dict[str, str], hold: Hold, answered_before_release: int, inside: int) -> list[httpx.Response]:
    """``CALLERS`` reads at once while the store is held; the store moves again once
    ``inside`` of them reached it and ``answered_before_release`` were answered (or, where
    nobody is, after a while)."""
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=CALLERS), timeout=2 * ANSWERED_AT_ALL) as http:
        tasks = [asyncio.ensure_future(http.get(url, headers=headers)) for _ in range(CALLERS)]
        pending = set(tasks)
        end = time.monotonic() + ANSWERED_AT_ALL
        while CALLERS - len(pending) < answered_before_release and (left := end - time.monotonic()) > 0:
            _, pending = await asyncio.wait(pending, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        while hold.inside < inside and time.monotonic() < end:  # noqa: ASYNC110 - a count kept by threads
            await asyncio.sleep(0.01)
        hold.release()
        return list(await asyncio.gather(*tasks))


def assert_refused_for_load(response: httpx.Response, retry_after: str = "1", detail: str = FULL) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == retry_after
    body = response.json()
    assert body["type"] == "urn:backa:problem:overloaded" and body["status"] == 503 and body["errors"] == []
    assert body["detail"] == detail


@pytest.mark.parametrize(("in_flight", "queue"), [(2, 3), (3, 0)])
def test_past_the_places_and_the_queue_callers_are_refused_at_once_and_every_accepted_one_is_answered(
    make_hub: Any, in_flight: int, queue: int
) -> None:
    rt = make_hub(admission_in_flight=in_flight, admission_queue=queue, admission_queue_seconds=30, retry_after_seconds=7)
    hold = held_reads(rt)
    with served(rt) as url:
        answers = asyncio.run(crowd(url + CASE_LIST, bearer(rt), hold, CALLERS - in_flight - queue, in_flight))

    statuses = Counter(a.status_code for a in answers)
    assert statuses == {200: in_flight + queue, 503: CALLERS - in_flight - queue}, statuses
    assert hold.most_inside == in_flight, "no more requests were handled at once than the places allow"
    for answer in answers:
        if answer.status_code == 503:
            assert_refused_for_load(answer, retry_after="7")


def test_a_request_that_waits_longer_than_the_queue_allows_is_refused(make_hub: Any) -> None:
    rt = make_hub(admission_in_flight=2, admission_queue=5, admission_queue_seconds=0.3)
    hold = held_reads(rt)
    with served(rt) as url:
        answers = asyncio.run(crowd(url + CASE_LIST, bearer(rt), hold, CALLERS - 2, 2))

    assert Counter(a.status_code for a in answers) == {200: 2, 503: CALLERS - 2}
    details = Counter(a.json()["detail"] for a in answers if a.status_code == 503)
    # the first five to queue waited out the queue's deadline; the rest found it full (or, come late, waited too)
    assert details[WAITED_TOO_LONG] >= 5 and set(details) <= {FULL, WAITED_TOO_LONG}, details
    for answer in answers:
        if answer.status_code == 503:
            assert_refused_for_load(answer, detail=answer.json()["detail"])


def test_a_request_that_would_wait_longer_than_the_queue_allows_is_refused_on_arrival(make_hub: Any) -> None:
    """Once places are seen to be held longer than the queue's wait, a newcomer is refused
    at once instead of waiting out the queue's deadline."""
    rt = make_hub(admission_in_flight=1, admission_queue=5, admission_queue_seconds=1.0)
    with served(rt) as url, httpx.Client(base_url=url, timeout=ANSWERED_AT_ALL, headers=bearer(rt)) as http:
        slow = held_reads(rt)
        first = threading.Thread(target=lambda: http.get(CASE_LIST))
        first.start()
        slow.wait_inside(1)
        time.sleep(1.5)  # the one place is held longer than a request may wait for it
        slow.release()
        first.join(ANSWERED_AT_ALL)

        again = held_reads(rt)
        second = threading.Thread(target=lambda: http.get(CASE_LIST))
        second.start()
        try:
            again.wait_inside(1)
            assert_refused_for_load(http.get(CASE_LIST), detail=WOULD_WAIT_TOO_LONG)
        finally:
            again.release()
            second.join(ANSWERED_AT_ALL)


def test_without_a_number_of_places_there_are_as_many_as_request_threads(make_hub: Any) -> None:
    rt = make_hub(http_threads=3, admission_queue=0)
    hold = held_reads(rt)
    with served(rt) as url:
        answers = asyncio.run(crowd(url + CASE_LIST, bearer(rt), hold, CALLERS - 3, 3))

    assert Counter(a.status_code for a in answers) == {200: 3, 503: CALLERS - 3}
    assert hold.most_inside == 3


def test_without_a_queue_length_eight_callers_wait_for_each_place(make_hub: Any) -> None:
    """The queue is long enough that the expected wait, not a count, refuses a crowd the
    hub answers in time; beyond eight a place, callers are still refused at once."""
    rt = make_hub(admission_in_flight=2, admission_queue_seconds=30)
    hold = held_reads(rt)
    with served(rt) as url:
        answers = asyncio.run(crowd(url + CASE_LIST, bearer(rt), hold, CALLERS - 2 - 16, 2))

    assert Counter(a.status_code for a in answers) == {200: 2 + 16, 503: CALLERS - 2 - 16}
    assert hold.most_inside == 2


def test_a_read_past_its_deadline_is_answered_503_and_keeps_its_place_until_its_handler_ends(make_hub: Any) -> None:
    rt = make_hub(admission_in_flight=1, admission_queue=0, request_deadline_seconds=0.5, retry_after_seconds=3)
    hold = held_reads(rt)
    with served(rt) as url, httpx.Client(base_url=url, timeout=ANSWERED_AT_ALL, headers=bearer(rt)) as http:
        try:
            late = http.get(CASE_LIST)
            assert late.status_code == 503, late.text
            assert late.headers["retry-after"] == "3"
            assert late.json()["detail"] == LATE

            # the stalled handler still holds the one place: the next caller is refused at once
            assert_refused_for_load(http.get(CASE_LIST), retry_after="3")
        finally:
            hold.release()
        end = time.monotonic() + ANSWERED_AT_ALL
        while (answer := http.get(CASE_LIST)).status_code == 503 and time.monotonic() < end:
            time.sleep(0.05)  # the late handler ends and gives its place back
        assert answer.status_code == 200, answer.text


def test_a_command_is_not_cut_short_by_the_deadline_of_reads(make_hub: Any) -> None:
    """A command commits in one atomic append: a 503 while it may still commit would tell
    the caller it failed when it did not. It is answered when it is done."""
    rt = make_hub(admission_in_flight=2, request_deadline_seconds=0.2)
    hold = Hold(rt.hub.register_child)
    rt.hub.register_child = hold  # type: ignore[method-assign]
    answers: list[httpx.Response] = []
    with served(rt) as url:
        sender = threading.Thread(
            target=lambda: answers.append(
                httpx.post(url + CHILDREN, json=registration_payload(), headers=bearer(rt, "larare.ostra"), timeout=ANSWERED_AT_ALL)
            )
        )
        sender.start()
        try:
            hold.wait_inside(1)
            time.sleep(1.0)  # well past the deadline of a read
        finally:
            hold.release()
        sender.join(ANSWERED_AT_ALL)
    assert [a.status_code for a in answers] == [201]


def test_health_readiness_and_the_static_files_are_answered_while_every_place_is_taken(make_hub: Any) -> None:
    """A liveness probe refused under load would have a busy but healthy hub restarted; a
    readiness probe refused would take it out of the balancer and move its load onto the
    others at once."""
    rt = make_hub(admission_in_flight=1, admission_queue=0)
    hold = held_reads(rt)
    with served(rt) as url, httpx.Client(base_url=url, timeout=ANSWERED_AT_ALL) as http:
        stuck = threading.Thread(target=lambda: http.get(CASE_LIST, headers=bearer(rt)))
        stuck.start()
        try:
            hold.wait_inside(1)
            assert_refused_for_load(http.get(CASE_LIST, headers=bearer(rt)))
            assert http.get("/health").json() == {"status": "ok"}
            assert http.head("/health").status_code == 200
            assert http.get("/ready").json() == {"status": "ready"}
            assert http.head("/ready").status_code == 200
            assert http.get("/ready/").json() == {"status": "ready"}
            assert http.get("/static/site.css").status_code == 200
            for spelled in ("/health/", "//health"):  # the router takes these to /health too
                assert http.get(f"{url}{spelled}").json() == {"status": "ok"}, spelled
        finally:
            hold.release()
            stuck.join(ANSWERED_AT_ALL)


def test_a_refusal_is_written_before_the_request_is_routed_traced_or_its_token_checked(make_hub: Any) -> None:
    """Under a crowd retrying, refusals must cost the event loop little beside the work let
    in: refused, a request leaves no span, has its token never checked (a forged one is not
    counted a failure either) and is not routed (an unknown path is refused alike)."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from hub.runtime.telemetry import build_telemetry

    rt = make_hub(admission_in_flight=1, admission_queue=0)
    spans = InMemorySpanExporter()
    rt.hub.telemetry = build_telemetry(span_exporter=spans)
    checked: list[str] = []
    authenticate = rt.verifier.authenticate
    rt.verifier.authenticate = lambda token: checked.append(token) or authenticate(token)  # type: ignore[method-assign]
    hold = held_reads(rt)
    with served(rt) as url, httpx.Client(base_url=url, timeout=ANSWERED_AT_ALL) as http:
        stuck = threading.Thread(target=lambda: http.get(CASE_LIST, headers=bearer(rt)))
        stuck.start()
        try:
            hold.wait_inside(1)
            before = (len(spans.get_finished_spans()), len(checked))
            assert_refused_for_load(http.get(CASE_LIST, headers=bearer(rt)))
            assert_refused_for_load(http.get(CASE_LIST, headers={"Authorization": "Bearer forged"}))
            assert_refused_for_load(http.get("/api/v1/no-such-thing", headers=bearer(rt)))
            assert (len(spans.get_finished_spans()), len(checked)) == before
        finally:
            hold.release()
            stuck.join(ANSWERED_AT_ALL)
    assert any(s.name.startswith("HTTP GET") for s in spans.get_finished_spans())
