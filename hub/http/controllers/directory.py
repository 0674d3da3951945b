"""The directory: the cooperation area's units, staff, roles, delegations and each unit's
subscription, kept by the area's administrator; every change is a fact with its author and
time, read back as the history (the administrator's and the auditors').

Who may is the core's (:mod:`consent.permissions`); an id of another area is unknown here,
so an administrator reaches only their own area.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter

from contracts.directory import IDENTIFIER, USER_ID, DelegationGranted
from contracts.vocabulary import SWEDISH_TIME
from hub.application import BackaHub
from hub.application.directory_admin import AddStaff, AddUnit, ChangeStaff, ChooseSubscription, DelegateRole, RenameUnit
from hub.application.directory_log import LiveDirectory
from hub.http.controllers._base import Caller, Hub, command, query, replace
from hub.http.directory_schemas import (
    DelegationCreated,
    DirectoryChanged,
    DirectoryOut,
    HistoryEntry,
    StaffOut,
    UnitOut,
)
from hub.http.problems import problem_responses
from hub.identity.principals import Principal

UnitId = Annotated[str, Parameter(pattern=IDENTIFIER, max_length=100, description="The unit's id")]
"""Checked here as well as in the core: a fact cannot name an id that breaks the pattern."""
UserId = Annotated[str, Parameter(pattern=USER_ID, max_length=100, description="The staff member's user id")]
API = "/api/v1/directory"
CHANGE_PROBLEMS = problem_responses(403, 409, 422)
remove = partial(delete, sync_to_thread=True, status_code=200)


def _changed(change: object) -> DirectoryChanged:
    return DirectoryChanged(event_id=change.event_id, type=change.type)  # type: ignore[attr-defined]


def _granted(hub: BackaHub, caller: Principal, event_id: UUID) -> UUID:
    """The id of the delegation the fact ``event_id`` just granted, as the log has it."""
    live = hub.directory
    if isinstance(live, LiveDirectory):
        for fact in reversed(live.history(caller.tenant_id)):
            if isinstance(fact, DelegationGranted) and fact.event_id == event_id:
                return fact.delegation_id
    raise NotFoundException()  # pragma: no cover - a delegation is only granted on a live directory


class DirectoryController(Controller):
    path = "/directory"
    tags = ["directory"]

    @query("/", summary="The caller's cooperation area: units, staff and delegations in force", responses=problem_responses(403))
    def read(self, hub: Hub, caller: Caller) -> DirectoryOut:
        """Every member of staff and auditor of the area sees who works where; nobody sees another area's."""
        return DirectoryOut.of(hub.directory_of(caller), hub.now().astimezone(SWEDISH_TIME).date())

    @query("/units/{unit_id:str}", summary="One open unit of the caller's area", responses=problem_responses(403, 404))
    def unit(self, hub: Hub, caller: Caller, unit_id: UnitId) -> UnitOut:
        found = hub.directory_of(caller).units.get(unit_id)
        if found is None:
            raise NotFoundException()
        return UnitOut.of(found)

    @query("/staff/{user_id:str}", summary="One member of staff of the caller's area", responses=problem_responses(403, 404))
    def staff_member(self, hub: Hub, caller: Caller, user_id: UserId) -> StaffOut:
        found = hub.directory_of(caller).staff.get(user_id)
        if found is None:
            raise NotFoundException()
        return StaffOut.of(found)

    # -- units ------------------------------------------------------------------------------

    @command("/units", summary="Add a unit (the administrator)", responses=CHANGE_PROBLEMS)
    def add_unit(self, hub: Hub, caller: Caller, data: JSONBody[AddUnit]) -> Response[DirectoryChanged]:
        change = hub.add_unit(caller, data)
        return Response(_changed(change), status_code=201, headers={"Location": f"{API}/units/{data.unit_id}"})

    @replace("/units/{unit_id:str}/name", summary="Rename a unit (the administrator)", responses=CHANGE_PROBLEMS)
    def rename_unit(self, hub: Hub, caller: Caller, unit_id: UnitId, data: JSONBody[RenameUnit]) -> DirectoryChanged:
        return _changed(hub.rename_unit(caller, unit_id, data))

    @command(
        "/units/{unit_id:str}/close",
        summary="Close a unit that has no staff left (the administrator)",
        responses=CHANGE_PROBLEMS,
        status_code=200,
    )
    def close_unit(self, hub: Hub, caller: Caller, unit_id: UnitId) -> DirectoryChanged:
        """Nobody signs in to a closed unit and nothing is sent to it; it stays named in old records."""
        return _changed(hub.close_unit(caller, unit_id))

    @replace(
        "/units/{unit_id:str}/subscription",
        summary="Choose what a unit is sent: event types, categories, at once or a daily digest, format",
        responses=CHANGE_PROBLEMS,
    )
    def choose_subscription(
        self, hub: Hub, caller: Caller, unit_id: UnitId, data: JSONBody[ChooseSubscription]
    ) -> DirectoryChanged:
        """Null event types or categories mean all that consent lets the unit see; a choice only narrows."""
        return _changed(hub.choose_subscription(caller, unit_id, data))

    # -- staff --------------------------------------------------------------------------------

    @command("/staff", summary="Add a member of staff with their unit and roles (the administrator)", responses=CHANGE_PROBLEMS)
    def add_staff(self, hub: Hub, caller: Caller, data: JSONBody[AddStaff]) -> Response[DirectoryChanged]:
        """They can sign in at once, on every process of the hub, through an issuer that takes roles from the directory."""
        change = hub.add_staff(caller, data)
        return Response(_changed(change), status_code=201, headers={"Location": f"{API}/staff/{data.user_id}"})

    @replace(
        "/staff/{user_id:str}", summary="Change a member of staff's unit, roles, name or title (the administrator)",
        responses=CHANGE_PROBLEMS,
    )
    def change_staff(self, hub: Hub, caller: Caller, user_id: UserId, data: JSONBody[ChangeStaff]) -> DirectoryChanged:
        return _changed(hub.change_staff(caller, user_id, data))

    @remove(
        "/staff/{user_id:str}", summary="Remove a member of staff: sign-in is refused from now on (the administrator)",
        responses=CHANGE_PROBLEMS,
    )
    def remove_staff(self, hub: Hub, caller: Caller, user_id: UserId) -> DirectoryChanged:
        return _changed(hub.remove_staff(caller, user_id))

    # -- delegations --------------------------------------------------------------------------

    @command(
        "/delegations",
        summary="Hand a role to a colleague at the same unit for a period (its holder, or the administrator)",
        responses=CHANGE_PROBLEMS,
    )
    def delegate(self, hub: Hub, caller: Caller, data: JSONBody[DelegateRole]) -> Response[DelegationCreated]:
        change = hub.delegate_role(caller, data)
        return Response(
            DelegationCreated(event_id=change.event_id, type=change.type, delegation_id=_granted(hub, caller, change.event_id)),
            status_code=201,
        )

    @remove("/delegations/{delegation_id:uuid}", summary="Revoke a delegation (its giver, or the administrator)", responses=CHANGE_PROBLEMS)
    def revoke(self, hub: Hub, caller: Caller, delegation_id: FromPath[UUID]) -> DirectoryChanged:
        return _changed(hub.revoke_delegation(caller, delegation_id))

    # -- history ------------------------------------------------------------------------------

    @query(
        "/history", summary="Every change of the directory: what, who and when (the administrator and auditors)",
        responses=problem_responses(403),
    )
    def history(
        self,
        hub: Hub,
        caller: Caller,
        since: Annotated[date | None, QueryParameter(description="Only changes on or after this day (YYYY-MM-DD)")] = None,
    ) -> list[HistoryEntry]:
        return [HistoryEntry.of(f) for f in hub.directory_history(caller, since=since)]
