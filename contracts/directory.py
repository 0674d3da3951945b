"""The facts of a cooperation area's directory: its units, its staff and their roles, the
delegations between them, and what each unit has chosen to be sent.

The directory is kept as facts on a log of its own (one stream per cooperation area), so
every hub process reads the same directory and every change says who made it and when.
These facts concern staff and units, never a child: they are not sealed per child, not
delivered to units and not erased with a child. Type names say what happened, never to
whom.
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, Field, field_validator, model_validator

from contracts.events import EVENT_TYPES, AccessReviewed, Actor, InformationAccessed, Value
from contracts.strict import Integer
from contracts.vocabulary import STAFF_ROLES, Category, Role, UnitKind

IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"
"""A unit's or a staff member's id: also one token of a NATS subject and of an address."""
USER_ID = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$"
"""A staff member's id as the staff IdP gives it (an account name, an e-mail address)."""
_NOT_IN_A_NAME = r"\x00-\x1f\x7f-\x9f" + "\u061c\u200b\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff"
"""Control characters (C0 and C1: NEL breaks a line too), the line and paragraph separators,
and the invisible marks that turn text around on a page (a name that reads as another)."""
NAME = rf"^[^{_NOT_IN_A_NAME}]*[^\s{_NOT_IN_A_NAME}][^{_NOT_IN_A_NAME}]*$"
"""A name: one line of visible text, not blank, none of :data:`_NOT_IN_A_NAME`."""
TITLE = rf"^([^{_NOT_IN_A_NAME}]*[^\s{_NOT_IN_A_NAME}][^{_NOT_IN_A_NAME}]*)?$"
"""A title: a name, or nothing."""


SUBSCRIBABLE_TYPES = frozenset(
    t.rsplit(".", 1)[-1] for t, cls in EVENT_TYPES.items() if cls not in (InformationAccessed, AccessReviewed)
)
"""The short type names a unit may ask for: every fact but the access log's."""


class Cadence(str, Enum):
    """How often a unit is sent what it may see."""

    IMMEDIATE = "immediate"  # each fact as it is committed
    DAILY = "daily"  # one digest a day of the day's facts


class DeliveryFormat(str, Enum):
    """What a delivery's data is."""

    BACKA = "backa"  # the published event (contracts.events), opened
    FHIR = "fhir"  # an HL7 FHIR R4 Bundle of the resources the fact touches


def _known_types(value: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    unknown = sorted(set(value) - SUBSCRIBABLE_TYPES)
    if unknown:
        raise ValueError(f"unknown event type {unknown[0]!r}")
    return tuple(sorted(set(value)))


def _sorted_categories(value: tuple[Category, ...] | None) -> tuple[Category, ...] | None:
    return None if value is None else tuple(sorted(set(value), key=lambda c: c.value))


EventTypes = Annotated[tuple[str, ...] | None, AfterValidator(_known_types)]
"""A subscription's event types: short names of facts a unit may be sent, each once; None: all."""
Categories = Annotated[tuple[Category, ...] | None, AfterValidator(_sorted_categories)]
DigestHour = Annotated[Integer, Field(ge=0, le=23)]


class Subscription(Value):
    """What a unit wants to be sent, within what the consent policy lets it see.

    ``event_types`` and ``categories`` narrow, never widen: None means every type or every
    category the policy allows. Notices a unit must act on (a consent withdrawn, a record
    erased, a reminder) are sent at once whatever it chose.
    """

    event_types: EventTypes = None
    """Short event type names (``DiscoveryCardSubmitted``)."""
    categories: Categories = None
    cadence: Cadence = Cadence.IMMEDIATE
    digest_hour: DigestHour = 7
    """The hour (Swedish time) a daily digest is sent."""
    format: DeliveryFormat = DeliveryFormat.BACKA

    def wants_type(self, short_type: str) -> bool:
        return self.event_types is None or short_type in self.event_types

    def wants_category(self, category: Category) -> bool:
        return self.categories is None or category in self.categories


class RetentionOverride(Value):
    """One of the area's own retention periods (see :mod:`consent.retention`)."""

    unit_kind: UnitKind
    category: Category | None = None
    days: Integer


class FigureDisclosure(Value):
    """How the area's figures are published (see :mod:`consent.disclosure`): counts from 1
    to ``threshold`` hidden, published counts rounded to ``rounding`` when set."""

    threshold: Integer = Field(default=2, ge=0, le=100)
    rounding: Integer | None = Field(default=None, ge=2, le=1000)


class DirectoryFact(Value):
    """The common envelope of every directory fact."""

    schema_version: Literal[1] = 1
    event_id: UUID
    tenant_id: str = Field(min_length=1, max_length=100, pattern=IDENTIFIER)
    occurred_at: AwareDatetime
    actor: Actor

    type_name: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.type_name = f"backa.v1.directory.{cls.__name__}"


class AreaOpened(DirectoryFact):
    """A cooperation area (tenant) begins to be served."""

    name: str = Field(min_length=1, max_length=200, pattern=NAME)
    retention: tuple[RetentionOverride, ...] = ()
    disclosure: FigureDisclosure = FigureDisclosure()


class UnitAdded(DirectoryFact):
    unit_id: str = Field(pattern=IDENTIFIER)
    kind: UnitKind
    name: str = Field(min_length=1, max_length=200, pattern=NAME)


class UnitRenamed(DirectoryFact):
    unit_id: str = Field(pattern=IDENTIFIER)
    name: str = Field(min_length=1, max_length=200, pattern=NAME)


class UnitClosed(DirectoryFact):
    """The unit leaves the area: nobody signs in to it and nothing is sent to it."""

    unit_id: str = Field(pattern=IDENTIFIER)


class StaffAdded(DirectoryFact):
    user_id: str = Field(pattern=USER_ID)
    unit_id: str | None = Field(default=None, pattern=IDENTIFIER)
    roles: tuple[Role, ...]
    name: str = Field(min_length=1, max_length=200, pattern=NAME)
    title: str = Field(default="", max_length=200, pattern=TITLE)

    @field_validator("roles")
    @classmethod
    def _staff_roles(cls, value: tuple[Role, ...]) -> tuple[Role, ...]:
        return staff_roles(value)


class StaffChanged(StaffAdded):
    """A staff member's unit, roles, name or title as they are from now on."""


class StaffRemoved(DirectoryFact):
    """The staff member no longer works in the area: sign-in refused from now on."""

    user_id: str = Field(pattern=USER_ID)


class DelegationGranted(DirectoryFact):
    """A staff member hands one of their roles to a colleague at the same unit for a
    period (a Barnkontakt's absence, say); the colleague holds it on those days only."""

    delegation_id: UUID
    from_user_id: str = Field(pattern=USER_ID)
    to_user_id: str = Field(pattern=USER_ID)
    role: Role
    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _period(self) -> DelegationGranted:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on: comes before starts_on")
        return self


class DelegationRevoked(DirectoryFact):
    delegation_id: UUID


class SubscriptionChosen(DirectoryFact):
    unit_id: str = Field(pattern=IDENTIFIER)
    subscription: Subscription


def staff_roles(value: tuple[Role, ...]) -> tuple[Role, ...]:
    """The roles of people who work in the area (staff and auditors), each once, at least one."""
    if not value:
        raise ValueError("at least one role")
    if not set(value) <= STAFF_ROLES | {Role.AUDITOR}:
        raise ValueError("only the roles of people who work in the area")
    return tuple(sorted(set(value), key=lambda r: r.value))


class UnsuppressedFiguresViewed(DirectoryFact):
    """The area's administrator saw its figures with the small counts the disclosure rule
    hides: who (``viewer_id``), and which terms and figure (none: all)."""

    viewer_id: str = Field(pattern=USER_ID)
    from_term: str | None = Field(default=None, max_length=40)
    to_term: str | None = Field(default=None, max_length=40)
    figure: str | None = Field(default=None, max_length=40)


DIRECTORY_FACTS: tuple[type[DirectoryFact], ...] = (
    AreaOpened,
    UnitAdded,
    UnitRenamed,
    UnitClosed,
    StaffAdded,
    StaffChanged,
    StaffRemoved,
    DelegationGranted,
    DelegationRevoked,
    SubscriptionChosen,
    UnsuppressedFiguresViewed,
)
