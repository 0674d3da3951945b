"""The steps of the Stödprocess after the decision, each for the role that takes it: the
support coordinator (Stödsamordnare) appointed with a deputy and handed over, and the
follow-up (uppföljning) with a new Behovskompass beside the first
(:mod:`hub.web.pages.process_team`); secrecy towards the guardians (sekretess mot
vårdnadshavare) and the BVC's home visits 1-6 (hembesök) (:mod:`hub.web.pages.process_care`).
"""

from __future__ import annotations

from typing import Any

from hub.web.app import Web
from hub.web.pages.process_care import care_routes
from hub.web.pages.process_team import team_routes


def routes(web: Web) -> list[Any]:
    return [*team_routes(web), *care_routes(web)]
