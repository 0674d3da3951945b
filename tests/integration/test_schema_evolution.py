"""A fact stored under version 1 of its contract loads after the contract goes to version 2,
on SQLite and PostgreSQL, on every path that reads the log: the aggregate, the views'
follower, the relay in a process of its own and the proofs; the stored bytes stay as they
were, so the signed checkpoint taken before the change still verifies. Without the step
from version 1 the same fact fails closed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from contracts import events as published
from contracts.events import EVENT_TYPES, carries
from contracts.upcasting import MissingUpcasterError
from contracts.vocabulary import Category
from hub.application.proofs import leaf_facts
from hub.keys.sealing import FactMapper
from hub.keys.stored_form import StoredContracts
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.relay import log_reader
from hub.runtime.relay_root import relay_root
from hub.runtime.settings import Settings
from hub.tlog.merkle import verify_inclusion
from hub.tlog.verify import audit
from tests.conftest import make_settings, register_child
from tests.factories import card_payload, directory, staff

BK = "rektor.ostra"
FIRST_LINE = "Tack för kortet."
SECOND_LINE = "Vi har bjudit in vårdnadshavarna till ett samtal."


class FeedbackSent(published.FeedbackSent):
    """Version 2 of the feedback: the message is one line, and what followed it is ``details``."""

    schema_version: Literal[2] = 2  # type: ignore[assignment]
    message: str = carries(Category.TEAM, min_length=1, max_length=4000, pattern=r"^[^\n]*$")
    details: str = carries(Category.TEAM, default="", max_length=4000)


def split_the_message(fact: dict[str, Any]) -> dict[str, Any]:
    """Feedback 1 -> 2: the first line stays the message, the rest becomes the details."""
    first, _, rest = fact["message"].partition("\n")
    return {**fact, "schema_version": 2, "message": first, "details": rest}


VERSION_2 = StoredContracts({**EVENT_TYPES, FeedbackSent.type_name: FeedbackSent}, {(FeedbackSent.type_name, 1): split_the_message})
WITHOUT_THE_STEP = StoredContracts({**EVENT_TYPES, FeedbackSent.type_name: FeedbackSent}, {})


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return make_settings(request.param, tmp_path, request)


def start(settings: Settings, clock: SettableClock) -> Runtime:
    return bootstrap(settings, clock=clock, directory=directory())


@pytest.fixture
def stored_in_version_1(settings: Settings, clock: SettableClock) -> Iterator[tuple[Any, int, bytes, Any]]:
    """A child whose feedback (two lines) was stored under version 1 while the views
    stood still, and the checkpoint signed over it: (child, position, state, checkpoint)."""
    rt = start(settings, clock)
    try:
        child_id = register_child(rt)
        card = rt.hub.submit_discovery_card(staff("larare.ostra"), child_id, **card_payload())
        rt.hub.assign_barnkontakt(staff(BK), child_id, staff_id=BK)
        rt.hub.follower.stop()  # the views meet the feedback only in the next release
        rt.hub.send_feedback(staff(BK), child_id, card_id=card.card_id, message=f"{FIRST_LINE}\n{SECOND_LINE}")
        (n,) = rt.hub.recorder.select_notifications(rt.hub.recorder.max_notification_id(), 1)
        assert n.topic == FeedbackSent.type_name and b'"schema_version":1' in rt.hub.sealer.open(n.state)
        assert rt.transparency is not None
        signed = rt.transparency.checkpoint_now()
    finally:
        rt.close()
    yield child_id, n.id, bytes(n.state), signed


def test_a_fact_stored_in_version_1_loads_as_version_2_on_every_path_that_reads_the_log(
    settings: Settings, clock: SettableClock, stored_in_version_1: tuple[Any, int, bytes, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    child_id, position, state, signed = stored_in_version_1
    monkeypatch.setattr(FactMapper, "contracts", VERSION_2)  # the next release
    rt = start(settings, clock)
    try:
        hub = rt.hub
        (n,) = hub.recorder.select_notifications(position, 1)
        assert bytes(n.state) == state

        fact = hub.mapper.to_domain_event(n).fact  # the mapper every path uses
        assert isinstance(fact, FeedbackSent) and fact.schema_version == 2
        assert (fact.message, fact.details) == (FIRST_LINE, SECOND_LINE)

        child = hub._load("ystad", child_id)  # the aggregate replays it: the card's feedback is sent
        assert child.version == n.originator_version and child.cards

        hub.follower.catch_up()  # the views apply it now, decoded from the log
        seen = hub.read_child(staff("larare.ostra"), child_id, purpose="Återkoppling på mitt kort")
        (feedback,) = [i for i in seen.items if i.type.endswith("FeedbackSent")]
        assert feedback.fields == {"card_id": fact.card_id, "to_unit_id": "skola-ostra", "message": FIRST_LINE, "details": SECOND_LINE}

        assert leaf_facts(hub, position).child_id == child_id  # type: ignore[union-attr]  # the proofs

        assert rt.transparency is not None
        proof = rt.transparency.inclusion(position, signed.size)
        assert verify_inclusion(proof.leaf_hash, proof.leaf_index, signed.size, proof.audit_path, signed.root_hash).ok
        report = audit(hub.recorder, settings.data_dir, rt.transparency.verifier())
        assert report.ok, report.problems
    finally:
        rt.close()

    relay = relay_root(settings, directory=directory())  # the relay, in a process of its own
    try:
        (entry,) = log_reader(relay)(position - 1, 1)
        assert isinstance(entry.fact, FeedbackSent) and entry.fact.details == SECOND_LINE
    finally:
        relay.close()


def test_a_fact_stored_in_version_1_fails_closed_when_version_2_has_no_step_from_it(
    settings: Settings, clock: SettableClock, stored_in_version_1: tuple[Any, int, bytes, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    child_id, position, _, _ = stored_in_version_1
    rt = start(settings, clock)
    try:
        rt.hub.mapper.contracts = WITHOUT_THE_STEP
        (n,) = rt.hub.recorder.select_notifications(position, 1)
        with pytest.raises(MissingUpcasterError) as caught:
            rt.hub.mapper.to_domain_event(n)
        assert str(caught.value) == (
            "a stored backa.v1.FeedbackSent is schema version 1 and no upcaster reads that version (the contract is at 2)"
        )
        assert caught.value.__context__ is None
    finally:
        rt.close()
