"""The refusals of the tamper-evident log. Messages name sizes and positions, never data."""

from __future__ import annotations

from hub.errors import HubError


class TransparencyError(HubError):
    """A refusal of the tamper-evident log. Messages name sizes and positions, never data."""

    title = "Transparency log"


class LogIntegrityError(TransparencyError):
    """The log, or the record of what was signed, no longer matches a signed checkpoint."""

    title = "Log integrity"


class ReplayedCheckpointError(LogIntegrityError):
    """A checkpoint older than the latest known one was offered or found."""

    title = "Replayed checkpoint"


class CheckpointNotFoundError(TransparencyError):
    title = "No such checkpoint"


class PositionNotFoundError(TransparencyError):
    title = "No such log position"
