"""The hub's errors. Messages name ids and rules, never a person's data."""

from __future__ import annotations


class HubError(Exception):
    """Base of every error the core raises on purpose."""

    title = "Request refused"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInputError(HubError):
    title = "Invalid input"

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None, field: str | None = None) -> None:
        super().__init__(detail, field=field)
        self.errors = errors or ([{"field": field, "message": detail}] if field else [])


class NotAuthenticatedError(HubError):
    title = "Not authenticated"


class NotPermittedError(HubError):
    """The caller's role or unit may not do this."""

    title = "Not permitted"


class NoBasisError(HubError):
    """Neither consent nor the law lets this viewer see this child's information now."""

    title = "No basis to see this information"


class ChildNotFoundError(HubError):
    title = "Child not found"

    def __init__(self, child_id: object) -> None:
        super().__init__(f"no child with id {child_id}", field="child_id")


class RecordErasedError(HubError):
    """The child's record was erased: nothing of it can be read or added to any more."""

    title = "Record erased"

    def __init__(self, child_id: object) -> None:
        super().__init__(f"the record of child {child_id} has been erased", field="child_id")
        self.child_id = child_id


class ErasureUnavailableError(HubError):
    """Erasure destroys the child's key; a log stored without per-child keys has none."""

    title = "Erasure unavailable"


class UnknownUnitError(HubError):
    title = "Unknown unit"

    def __init__(self, unit_id: str, field: str = "unit_id") -> None:
        super().__init__(f"no unit {unit_id!r} in this cooperation area", field=field)


class UnknownStaffError(HubError):
    title = "Unknown staff member"

    def __init__(self, staff_id: str, field: str = "staff_id") -> None:
        super().__init__(f"no staff member {staff_id!r} in this cooperation area", field=field)


class OutOfOrderError(HubError):
    """A step of the support process asked for before the step it depends on."""

    title = "Step out of order"


class ConflictError(HubError):
    """The child's record changed under the command; nothing was appended."""

    title = "Conflict"


class ConsentError(HubError):
    title = "Consent refused"


class StoreUnavailableError(HubError):
    title = "Store unavailable"


class SignInUnavailableError(HubError):
    """The sign-in service (an OpenID provider) cannot be reached or answered nonsense."""

    title = "Sign-in service unavailable"


class RegisterUnavailableError(StoreUnavailableError):
    """The population register could not be asked (or did not answer in time)."""

    title = "Population register unavailable"


class NoSessionError(HubError):
    """The request was signed with a bearer token, not within a web session."""

    title = "No session"


class TooManyAttemptsError(HubError):
    """More sign-ins, session starts or failed tokens than the limits allow (OWASP ASVS
    V2.2.1); ``retry_after`` is how many seconds until the next is let through."""

    title = "Too many attempts"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ViewsCatchingUpError(HubError):
    """A view the answer needs has not yet caught up with the log (the hub has just
    started, or is rebuilding a view): the answer would be stale, so none is given."""

    title = "Catching up"

    def __init__(self, detail: str = "the hub is bringing its views up to date", *, retry_after: int = 2) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ViewsStoppedError(HubError):
    """The views stopped before a stored fact this release cannot read (one written by a
    later release): waiting will not help, upgrading this process will."""

    title = "Views stopped"

    def __init__(self) -> None:
        super().__init__("the views stopped before a fact stored by a later release of the hub; this process must be upgraded")
