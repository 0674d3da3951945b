"""An e-service id is one card: a file giving the same id to cards of two children has the
second row rejected, naming the id's column, not reported as "imported before" when it never was."""

from __future__ import annotations

import json

from hub.application.card_import import ImportFormat
from hub.runtime.bootstrap import Runtime
from tests.factories import staff
from tests.integration.test_card_import import OTHER_CHILD_PNR, row


def test_the_same_eservice_id_for_another_child_in_one_file_is_rejected(memory_runtime: Runtime) -> None:
    rows = [row("e-1"), row("e-1", personnummer=OTHER_CHILD_PNR, given_name="Ture"), row("e-1")]
    report = memory_runtime.hub.import_cards(staff("admin.ystad"), json.dumps(rows).encode(), ImportFormat.JSON).as_dict()
    assert [r["row"] for r in report["accepted"]] == [1]
    assert [(r["row"], [e["field"] for e in r["errors"]]) for r in report["rejected"]] == [(2, ["eservice_id"])]
    assert [r["row"] for r in report["skipped"]] == [3]  # the same card again is still only a repeat
