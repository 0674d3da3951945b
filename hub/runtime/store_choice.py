"""Which store the settings name, decided from the settings alone: asked before the
stores (and what they import) are loaded, by a server that listens before it builds."""

from __future__ import annotations

from hub.runtime.settings import Settings


def store_kind(settings: Settings) -> str:
    """``postgres``, ``memory`` or ``sqlite``: a database URL means PostgreSQL unless another
    store was asked for by name (``backa demo`` always loads into its own folder)."""
    if settings.store == "postgres" or (settings.database_url is not None and "store" not in settings.model_fields_set):
        return "postgres"
    return settings.store


__all__ = ["store_kind"]
