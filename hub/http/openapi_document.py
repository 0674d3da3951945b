"""The OpenAPI document, built when first asked for rather than when the app is made.

Building it walks every route and model of the API (a good part of a second of CPU), so
doing it in ``create_app`` delayed the first answer to ``/health`` by as much. Now the
first request under the document's path builds it in a worker thread, so the event loop
goes on answering other requests meanwhile; later requests find it built.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import anyio.to_thread
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.openapi.spec import OpenAPI, Schema
from litestar.types import ASGIApp, Receive, Scope, Send
from pydantic import BaseModel


class _MarkedOpenAPIPlugin(OpenAPIPlugin):
    """Litestar's plugin, with the hub's marks applied to each document it builds."""

    __slots__ = ()
    mark: Callable[[OpenAPI], None] = staticmethod(lambda _: None)

    def _build_openapi(self) -> OpenAPI:
        document = super()._build_openapi()
        type(self).mark(document)
        return document


def closed_objects_marker(modules: Iterable[Any]) -> Callable[[OpenAPI], None]:
    """Say in the document what the API does: objects refuse unknown fields.

    Litestar's schema for a pydantic model lists its fields but not ``extra="forbid"``;
    this marks each such component ``additionalProperties: false``.
    """
    models = {
        name: obj
        for module in modules
        for name, obj in vars(module).items()
        if isinstance(obj, type) and issubclass(obj, BaseModel)
    }

    def mark(document: OpenAPI) -> None:
        for name, component in (document.components.schemas or {}).items():
            model = models.get(name)
            if model is not None and model.model_config.get("extra") == "forbid" and isinstance(component, Schema):
                component.additional_properties = False

    return mark


class LazyOpenAPI:
    """Builds the app's document once, off the event loop, on the first request for it."""

    def __init__(self, path: str, mark: Callable[[OpenAPI], None]) -> None:
        self.path = path
        self._marked = type("MarkedOpenAPIPlugin", (_MarkedOpenAPIPlugin,), {"__slots__": (), "mark": staticmethod(mark)})
        self._plugin: OpenAPIPlugin | None = None
        self._lock = threading.Lock()
        self.built = False

    def attach(self, app: Litestar) -> None:
        """Take over the app's OpenAPI plugin (made by Litestar itself, so its class is swapped)."""
        plugin = app.plugins.get(OpenAPIPlugin)
        plugin.__class__ = self._marked
        self._plugin = plugin

    def build(self) -> None:
        with self._lock:
            if not self.built and self._plugin is not None:
                self._plugin.provide_openapi_schema()
                self.built = True

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def build_first(scope: Scope, receive: Receive, send: Send) -> None:
            if not self.built and str(scope.get("path", "")).startswith(self.path):
                await anyio.to_thread.run_sync(self.build)
            await app(scope, receive, send)

        return build_first


__all__ = ["LazyOpenAPI", "closed_objects_marker"]
