"""A discoverer follows up on the cards they sent: newest first, with the feedback status, after a restart too."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.errors import NotPermittedError
from hub.runtime.bootstrap import bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import family, register_child
from tests.factories import GUARDIAN_1_PNR, START, card_payload, conversation_payload, directory, staff


def test_the_cards_a_discoverer_sent_are_listed_with_their_feedback_status_after_a_restart(tmp_path: Path) -> None:
    clock = SettableClock(START)
    settings = Settings(store="sqlite", data_dir=tmp_path / "data", demo_mode=True)
    rt = bootstrap(settings, clock=clock, directory=directory())
    try:
        child = register_child(rt)
        first = rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra")).card_id
        clock.advance(timedelta(days=1))
        second = rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra")).card_id
        rt.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload("skola-ostra"))
        rt.hub.assign_barnkontakt(staff("rektor.ostra"), child, staff_id="rektor.ostra")
        rt.hub.send_feedback(staff("rektor.ostra"), child, card_id=first, message="Vi har tagit emot kortet")
    finally:
        rt.close()

    again = bootstrap(settings, clock=clock, directory=directory())
    try:
        cards = again.hub.cards_sent_by(staff("polis.ystad"))

        assert [c.card_id for c in cards] == [second, first]
        assert {c.card_id: c.feedback_sent for c in cards} == {first: True, second: False}
        assert all(c.child_id == child and c.to_unit_id == "skola-ostra" and c.taken_up for c in cards)
        assert [c.card_id for c in again.hub.cards_sent_by(staff("bup.ystad"))] == []
        with pytest.raises(NotPermittedError):
            again.hub.cards_sent_by(family(again, GUARDIAN_1_PNR))
    finally:
        again.close()


def test_a_unit_of_the_childs_team_finds_the_child_on_its_list(memory_runtime: Any) -> None:
    """Pupil health joins an individual team: it must find the child without being sent a link."""
    rt = memory_runtime
    child = register_child(rt)
    rt.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload("skola-ostra"))
    rt.hub.assign_barnkontakt(staff("rektor.ostra"), child, staff_id="rektor.ostra")
    rt.hub.hold_conversation(staff("rektor.ostra"), child, **conversation_payload())
    assert [r.child_id for r in rt.hub.case_list(staff("kurator.ostra"))] == []

    rt.hub.decide_team(
        staff("rektor.ostra"), child, decision="individual_team", family_informed=True,
        member_unit_ids=["skola-ostra", "elevhalsa-ostra"],
    )

    assert [r.child_id for r in rt.hub.case_list(staff("kurator.ostra"))] == [child]
