"""The hub's HTTP API: resource-oriented JSON under ``/api/v1``, built by :func:`create_app`.

``create_app`` is imported when first asked for: a server that listens before the hub is
built (:mod:`hub.http.staged`) imports this package without the web framework."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.http.app import create_app


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from hub.http.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["create_app"]
