"""The static files, exempt from admission control, answer a name no disk can look up
(too long) with 404 problem+json like any unknown file, never a 500."""

from __future__ import annotations

from typing import Any

import httpx

from tests.http.served import served
from tests.http.test_admission import ANSWERED_AT_ALL, make_hub  # noqa: F401,F811 - a fixture


def test_a_static_name_too_long_for_the_disk_is_not_found(make_hub: Any) -> None:  # noqa: F811 - the fixture
    rt = make_hub()
    with served(rt) as url, httpx.Client(base_url=url, timeout=ANSWERED_AT_ALL) as http:
        for name in ("x" * 300, "x/" * 3000 + "site.css"):
            answer = http.get(f"/static/{name}")
            assert answer.status_code == 404, name[:10]
            assert answer.headers["content-type"].startswith("application/problem+json")
        assert http.get("/static/site.css").status_code == 200
