"""The hub's core: commands that append the facts of the support process, and reads that
show each viewer what consent and the law allow now, each read itself recorded.

The handlers are grouped by process area, one module each; :class:`BackaHub` is all of them.
"""

from __future__ import annotations

from hub.application.audit_lookup import AuditLookup
from hub.application.auditing import Auditing
from hub.application.card_import import CardImports
from hub.application.closure import Closure
from hub.application.concerns import Concerns
from hub.application.consent_signals import ConsentSignals
from hub.application.consenting import Consenting
from hub.application.delivery_failures import DeliveryFailures
from hub.application.directory_admin import DirectoryKeeping
from hub.application.core import Views
from hub.application.erasure import Erasure
from hub.application.reads import Reads
from hub.application.surveys import Surveys
from hub.application.registration import Registration
from hub.application.team import TeamAndPlan

__all__ = ["BackaHub", "Views"]


class BackaHub(DeliveryFailures, DirectoryKeeping, CardImports, Registration, Consenting, ConsentSignals, TeamAndPlan, Closure, Concerns, Surveys, Erasure, Auditing, AuditLookup, Reads):
    """The log of every child's support process, with the commands and reads on it."""

    name = "backa"
