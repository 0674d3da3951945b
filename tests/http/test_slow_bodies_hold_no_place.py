"""A caller trickling its body (or never finishing it) waits for it without a place: the
places stay free for callers whose requests have arrived whole, so a few slow or hostile
connections cannot have everyone else refused for as long as the body deadline. A body
read before its place is handed on whole, however it was cut into pieces."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import httpx

from hub.http.admission import BODY_FIRST_BYTES
from tests.factories import registration_payload
from tests.http.served import served
from tests.http.test_admission import ANSWERED_AT_ALL, CASE_LIST, CHILDREN, bearer, make_hub  # noqa: F401 - a fixture
from tests.http.test_body_deadline import _answer

PLACES = 2


def _request_head(port: int, authorization: str, length: int, extra: str = "") -> bytes:
    return (
        f"POST {CHILDREN} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {authorization}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n{extra}\r\n"
    ).encode()


def test_callers_trickling_their_bodies_leave_the_places_to_whole_requests(make_hub: Any) -> None:  # noqa: F811
    rt = make_hub(admission_in_flight=PLACES, admission_queue=0, request_deadline_seconds=60)
    with served(rt) as url:
        port = int(url.rsplit(":", 1)[1])
        slow = []
        for _ in range(PLACES + 3):
            sock = socket.create_connection(("127.0.0.1", port), timeout=ANSWERED_AT_ALL)
            sock.sendall(_request_head(port, bearer(rt, "larare.ostra")["Authorization"], 1000) + b"{")
            slow.append(sock)
        try:
            time.sleep(0.5)  # the server has read their heads: before, each held a place from here on
            with httpx.Client(base_url=url, headers=bearer(rt), timeout=ANSWERED_AT_ALL) as http:
                answers = [http.get(CASE_LIST) for _ in range(3)]
            assert [a.status_code for a in answers] == [200, 200, 200], answers[0].text
        finally:
            for sock in slow:
                sock.close()
        # callers gone before their bodies came took no place either
        assert httpx.get(url + CASE_LIST, headers=bearer(rt), timeout=ANSWERED_AT_ALL).status_code == 200


def test_a_body_sent_in_pieces_and_past_what_is_read_first_reaches_the_handler_whole(make_hub: Any) -> None:  # noqa: F811
    rt = make_hub(admission_in_flight=1, admission_queue=0, request_deadline_seconds=30)
    body = json.dumps(registration_payload()).encode() + b" " * (BODY_FIRST_BYTES + 1000)
    with served(rt) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=ANSWERED_AT_ALL) as sock:
            sock.sendall(_request_head(port, bearer(rt, "larare.ostra")["Authorization"], len(body)))
            for start in range(0, len(body), 7000):
                sock.sendall(body[start : start + 7000])
                time.sleep(0.01)
            status, _, answer = _answer(sock)
        assert status == 201, answer
        assert httpx.get(url + CASE_LIST, headers=bearer(rt), timeout=ANSWERED_AT_ALL).status_code == 200


def test_a_chunked_body_is_read_first_and_handed_on(make_hub: Any) -> None:  # noqa: F811
    rt = make_hub(admission_in_flight=1, admission_queue=0)
    body = json.dumps(registration_payload()).encode()
    with served(rt) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=ANSWERED_AT_ALL) as sock:
            head = (
                f"POST {CHILDREN} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {bearer(rt, 'larare.ostra')['Authorization']}\r\n"
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            ).encode()
            half = len(body) // 2
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:half], body[half:])) + b"0\r\n\r\n"
            sock.sendall(head + chunks)
            status, _, answer = _answer(sock)
        assert status == 201, answer
