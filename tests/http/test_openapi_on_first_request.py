"""The OpenAPI document is built at its first request, off the event loop, not when the
app is made: building it walks every route and model, and delayed the first /health."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.testing import TestClient

from hub.http import create_app
from hub.http.app import SCHEMA_PATH
from hub.runtime.bootstrap import Runtime


def test_the_document_is_built_once_at_its_first_request_off_the_event_loop(
    memory_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[bool] = []
    original = OpenAPIPlugin._build_openapi

    def counted(self: OpenAPIPlugin) -> Any:
        try:
            asyncio.get_running_loop()
            builds.append(True)  # on the event loop
        except RuntimeError:
            builds.append(False)
        return original(self)

    monkeypatch.setattr(OpenAPIPlugin, "_build_openapi", counted)
    app = create_app(memory_runtime)
    assert builds == []  # making the app builds no document

    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert builds == []
        first = client.get(f"{SCHEMA_PATH}/openapi.json")
        again = client.get(f"{SCHEMA_PATH}/openapi.json")

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert builds == [False]  # once, and in a worker thread
    card = first.json()["components"]["schemas"]["SubmitDiscoveryCard"]
    assert card["additionalProperties"] is False  # the hub's marks are on the lazily built document
