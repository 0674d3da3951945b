"""A caller that trickles its request body keeps no place: past the read deadline it is
answered 408 problem+json, and the others are served again."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx

from tests.factories import registration_payload
from tests.http.served import served
from tests.http.test_admission import ANSWERED_AT_ALL, CASE_LIST, CHILDREN, bearer, make_hub  # noqa: F401,F811 - a fixture

SLOW_CALLERS = 2


def _trickling(port: int, authorization: str) -> socket.socket:
    """A command whose headers promise a body it never finishes sending."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=ANSWERED_AT_ALL)
    sock.sendall(
        f"POST {CHILDREN} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {authorization}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode()
    )
    return sock


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], Any]:
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
        chunk = sock.recv(65536)  # the socket's timeout: an old hub never answers
        if not chunk:
            break
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body)


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def test_callers_trickling_their_bodies_are_answered_408_and_hold_no_place(make_hub: Any) -> None:  # noqa: F811 - the fixture
    rt = make_hub(admission_in_flight=SLOW_CALLERS, admission_queue=0, request_deadline_seconds=1)
    with served(rt) as url:
        port = int(url.rsplit(":", 1)[1])
        slow = [_trickling(port, bearer(rt)["Authorization"]) for _ in range(SLOW_CALLERS)]
        try:
            for sock in slow:
                status, headers, body = _answer(sock)
                assert status == 408
                assert headers["content-type"].startswith("application/problem+json")
                assert body["status"] == 408 and body["errors"] == [
                    {"field": "body", "message": "the body did not arrive within 1 seconds"}
                ]
        finally:
            for sock in slow:
                sock.close()
        assert httpx.get(url + CASE_LIST, headers=bearer(rt), timeout=ANSWERED_AT_ALL).status_code == 200


def test_a_body_sent_in_time_is_read_whole(make_hub: Any) -> None:  # noqa: F811 - the fixture
    rt = make_hub(request_deadline_seconds=1)
    with served(rt) as url:
        answer = httpx.post(
            url + CHILDREN, json=registration_payload(), headers=bearer(rt, "larare.ostra"), timeout=ANSWERED_AT_ALL
        )
        assert answer.status_code == 201, answer.text
