"""Work the app used to do when it was made is done when first needed: the OpenAPI
document (which walks every route and model) at its first request, off the event loop;
a language's page texts when a page is first shown in it. Both delayed the first /health."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.testing import TestClient

from hub.http import create_app
from hub.http.app import SCHEMA_PATH
from hub.runtime.bootstrap import Runtime
from hub.web import i18n


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


def test_the_page_texts_of_a_language_are_read_when_a_page_is_first_shown_in_it(
    memory_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[str] = []
    original = i18n.load_catalogue

    def counted(language: str, *args: Any) -> i18n.Catalogue:
        read.append(language)
        return original(language, *args)

    monkeypatch.setattr(i18n, "load_catalogue", counted)
    app = create_app(memory_runtime)
    assert read == []  # making the app reads no catalogue

    with TestClient(app, base_url="https://testserver.local") as client:
        first = client.get("/sign-in")
        again = client.get("/sign-in")
        english = client.get("/sign-in", headers={"Cookie": f"{i18n.LANGUAGE_COOKIE}=en"})

    assert first.status_code == again.status_code == english.status_code == 200
    assert "Logga in" in first.text and "Sign in" in english.text
    assert read == ["sv", "en"]  # each once, when first shown
