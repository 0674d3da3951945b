"""Concern reports to social services, secrecy towards guardians, home visits and the
agencies' summaries."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from consent.permissions import Action, Target
from contracts.vocabulary import HomeVisit, UnitKind
from hub.application.commands import (
    FileConcernReport,
    RecordHomeVisit,
    ShareAgencySummary,
    WithholdInformation,
)
from hub.application.core import HubCore, handles, typed
from hub.application.readmodels import Filed, ReportFiled
from hub.domain.child import Child
from hub.errors import InvalidInputError
from hub.identity.principals import Principal


class Concerns(HubCore):
    """Concern reports to social services, secrecy towards guardians, home visits and the
    agencies' summaries."""

    @handles(Action.FILE_CONCERN_REPORT, FileConcernReport)
    def file_concern_report(
        self, p: Principal, child_id: UUID, command: FileConcernReport | None = None, **fields: Any
    ) -> ReportFiled:
        """Orosanmälan: anyone at a unit reports to social services (SoL 14 kap. 1 §), about
        any child of the area, without waiting for consent; kept from the guardians as a
        whole, or only who filed it, when the filer says so. Filing the report and its
        reporter's secrecy is the filer's own fact (:func:`consent.permissions.may`, own facts),
        so it is decided with the filing itself."""
        cmd = typed(FileConcernReport, command, fields)
        target = self.directory.unit(p.tenant_id, cmd.to_unit_id, "to_unit_id")
        if target.kind is not UnitKind.SOCIAL_SERVICES:
            raise InvalidInputError("a concern report goes to a social services unit", field="to_unit_id")

        def verb(child: Child) -> ReportFiled:
            self._permit(p, Action.FILE_CONCERN_REPORT, child)
            report = child.file_concern_report(
                actor=self._actor(p),
                at=self.now(),
                to_unit_id=cmd.to_unit_id,
                unmet_needs=tuple(cmd.unmet_needs),
                description=cmd.description,
                acute=cmd.acute,
                withheld_from_guardians=cmd.withheld_from_guardians,
                reporter_withheld=cmd.reporter_withheld,
            )
            return ReportFiled(
                child_id=child.id,
                event_id=report.event_id,
                report_id=report.report_id,
                withheld_from_guardians=report.withheld_from_guardians,
                reporter_withheld=cmd.reporter_withheld,
            )

        return self._command(p, child_id, verb)

    @handles(Action.WITHHOLD_INFORMATION, WithholdInformation)
    def withhold_information(self, p: Principal, child_id: UUID, command: WithholdInformation | None = None, **fields: Any) -> None:
        """Keep facts from the family, or only who filed concern reports: by the unit that
        recorded them, or the social-services unit a report was filed to."""
        cmd = typed(WithholdInformation, command, fields)

        def verb(child: Child) -> None:
            # a fact the child does not have is no unit's: refused as another unit's fact is,
            # and concealed from a unit with no part in the case, so an id tells nothing
            origins = tuple(child.event_origins.get(e) for e in cmd.event_ids)
            received = tuple(child.concern_reports.get(e) for e in cmd.event_ids)
            self._permit(p, Action.WITHHOLD_INFORMATION, child, Target(fact_unit_ids=origins, received_unit_ids=received))
            child.withhold_information(
                actor=self._actor(p),
                at=self.now(),
                event_ids=tuple(cmd.event_ids),
                reason=cmd.reason,
                reporter_only=cmd.reporter_only,
            )

        self._command(p, child_id, verb)

    @handles(Action.RECORD_HOME_VISIT, RecordHomeVisit)
    def record_home_visit(self, p: Principal, child_id: UUID, command: RecordHomeVisit | None = None, **fields: Any) -> Filed:
        cmd = typed(RecordHomeVisit, command, fields)

        def verb(child: Child) -> Filed:
            self._permit(p, Action.RECORD_HOME_VISIT, child)
            event_id = child.record_home_visit(
                actor=self._actor(p), at=self.now(), visit=HomeVisit(cmd.visit), unit_id=p.unit_id or "", notes=cmd.notes,
                visited_on=cmd.visited_on,
            )
            return self._filed(p, child, event_id, withheld_from_guardians=cmd.withheld_from_guardians)

        return self._command(p, child_id, verb)

    @handles(Action.SHARE_AGENCY_SUMMARY, ShareAgencySummary)
    def share_agency_summary(self, p: Principal, child_id: UUID, command: ShareAgencySummary | None = None, **fields: Any) -> Filed:
        cmd = typed(ShareAgencySummary, command, fields)
        filled = frozenset(name for name in ("health", "police", "social_services") if getattr(cmd, name))

        def verb(child: Child) -> Filed:
            self._permit(p, Action.SHARE_AGENCY_SUMMARY, child, Target(agency_fields=filled))
            event_id = child.share_agency_summary(
                actor=self._actor(p),
                at=self.now(),
                health=cmd.health,
                police=cmd.police,
                social_services=cmd.social_services,
                withheld_from_guardians=cmd.withheld_from_guardians,
            )
            return Filed(child_id=child.id, event_id=event_id, withheld_from_guardians=cmd.withheld_from_guardians)

        return self._command(p, child_id, verb)
