"""``backa consents remind``: the sweep that sends the reminders about consent that are due.

Run by the area's administrator (a token in BACKA_TOKEN), from cron or by hand. The moment
is a parameter (``--at``, now by default) and the days are the area's settings
(``BACKA_CONSENT_REMINDER_AFTER_DAYS``, ``BACKA_CONSENT_EXPIRY_WARNING_DAYS``). Each reminder
is a fact of the child's record, so a run repeated, or stopped and started again, sends
none twice. Counts only: no child, name or personnummer is said.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from typing import Any

EXIT_REFUSED = 2
EXIT_FAILED = 1


def cmd_consents_remind(args: argparse.Namespace) -> int:
    from hub.application.consent_signals import SignalDays
    from hub.cli import _say, _settings
    from hub.errors import HubError
    from hub.runtime.bootstrap import bootstrap

    token = os.environ.get("BACKA_TOKEN", "").strip()
    if not token:
        _say("backa consents remind: set BACKA_TOKEN to the administrator's bearer token")
        return EXIT_REFUSED
    at = None
    if args.at is not None:
        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            at = None
        if at is None or at.tzinfo is None:
            _say("backa consents remind: --at must be a moment with its offset, e.g. 2026-12-04T06:00:00+01:00")
            return EXIT_REFUSED
    settings = _settings(args)
    runtime = bootstrap(settings, wait_for_views=True)
    try:
        days = SignalDays.of(settings)
        try:
            principal = runtime.verifier.verify(token)
            when = at or runtime.hub.now()
            todo = runtime.hub.consent_reminders_due(principal, when, days)
        except HubError as e:
            _say(f"backa consents remind: refused: {e.detail}")
            return EXIT_REFUSED
        if args.dry_run:
            _say(f"backa consents remind: {len(todo)} child(ren) have reminders due (dry run: nothing sent)")
            return 0
        sent = refused = 0
        for child_id in todo:
            try:
                sent += runtime.hub.send_consent_reminders(principal, child_id, at=when, days=days)
            except HubError:
                refused += 1  # erased, or answered meanwhile, since the list was read
        _say(f"backa consents remind: {sent} reminder(s) sent for {len(todo)} child(ren); {refused} refused")
        return EXIT_FAILED if refused else 0
    finally:
        runtime.close()


def add_parser(sub: Any) -> None:
    from pathlib import Path

    consents = sub.add_parser("consents", help="reminders about consent")
    consents_sub = consents.add_subparsers(dest="consents_command", required=True)
    remind = consents_sub.add_parser(
        "remind",
        help="remind the parties who have not answered a request, and warn the case owner before a consent ends "
        "(the administrator's token in BACKA_TOKEN)",
    )
    remind.add_argument("--at", default=None, help="the moment to decide at, with its offset (default: now)")
    remind.add_argument("--dry-run", action="store_true", help="count the children with reminders due, and send none")
    remind.add_argument("--data-dir", type=Path, default=None, help="the hub's data folder (default BACKA_DATA_DIR or ./data)")
    remind.set_defaults(func=cmd_consents_remind)
