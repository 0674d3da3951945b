"""The hub's HTTP API: resource-oriented JSON under ``/api/v1``, built by :func:`create_app`."""

from hub.http.app import create_app

__all__ = ["create_app"]
