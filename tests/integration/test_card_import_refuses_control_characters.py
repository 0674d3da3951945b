"""A card from an e-service export carries no control character into the record: an escape
sequence or NUL in a child's name or the card's text is a rejected row, naming the field,
while a line break in free text is kept."""

from __future__ import annotations

import json

import pytest

from hub.application.card_import import ImportFormat
from hub.runtime.bootstrap import Runtime
from tests.factories import staff
from tests.integration.test_card_import import OTHER_CHILD_PNR, row


@pytest.mark.parametrize(
    ("field", "value"),
    [("given_name", "Ture\x1b[2J"), ("family_name", "Lind\x00"), ("given_name", "T\x85"), ("own_support_taken", "Samtal\x07")],
)
def test_a_control_character_rejects_the_row(memory_runtime: Runtime, field: str, value: str) -> None:
    data = json.dumps([row("e-1", personnummer=OTHER_CHILD_PNR, **{field: value})]).encode()
    report = memory_runtime.hub.import_cards(staff("admin.ystad"), data, ImportFormat.JSON).as_dict()
    assert report["accepted"] == []
    assert [e["field"] for e in report["rejected"][0]["errors"]] == [field]


def test_a_line_break_in_the_support_taken_is_kept(memory_runtime: Runtime) -> None:
    data = json.dumps([row("e-1", own_support_taken="Samtal med mentor.\r\n\tTvå gånger.")]).encode()
    report = memory_runtime.hub.import_cards(staff("admin.ystad"), data, ImportFormat.JSON).as_dict()
    assert [r["eservice_id"] for r in report["accepted"]] == ["e-1"]
