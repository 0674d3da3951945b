"""The area administrator's page (Administration): the consent reminders due, sent with one
action, and the way to the area's retention periods.

The sweep is the same as ``backa consents remind``: the core decides who may send (the
administrator only) and which reminders are due at the hub's now, and records each once, so
a second click, a reload or the command line run the same day sends nothing twice.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from hub.application import Action
from hub.application.consent_signals import SignalDays
from hub.errors import NotPermittedError
from hub.web.app import Form, Web

PATH = "/administration"


def routes(web: Web) -> list[Any]:
    def days() -> SignalDays:
        return SignalDays.of(web.runtime.settings)

    @get(PATH, sync_to_thread=True)
    def administration(request: Request[Any, Any, Any], sent: FromQuery[int | None] = None) -> Template:
        who = web.visitor(request)
        p = who.require(who.path)
        if not web.hub.may(p, Action.SWEEP_CONSENT_REMINDERS):
            raise NotPermittedError("only the area's administrator has this page")
        due = web.hub.consent_reminders_due(p, web.hub.now(), days())
        return web.render(
            who, "admin/administration.html", active="administration", due=len(due),
            sent=sent if sent is not None and 0 <= sent <= 1_000_000 else None, days=days(),
        )

    @post(PATH + "/consent-reminders", sync_to_thread=True)
    def send_reminders(request: Request[Any, Any, Any], data: Form) -> Redirect:
        who = web.visitor(request)
        p = who.require(who.path)

        def act() -> str:
            at = web.hub.now()
            sent = 0
            for child_id in web.hub.consent_reminders_due(p, at, days()):
                sent += web.hub.send_consent_reminders(p, child_id, at=at, days=days())
            return f"{PATH}?sent={sent}"

        return web.act(who, data, act)

    return [administration, send_reminders]
