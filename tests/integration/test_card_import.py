"""Discovery cards from a municipality's e-service export: a row-by-row report, the same
commands and permissions as a card filed in the pages, and no duplicates when imported again."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from hub.application.card_import import CSV_COLUMNS, ImportFileError, ImportFormat
from hub.errors import NotPermittedError, StoreUnavailableError
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, START, card_payload, directory, staff

OTHER_CHILD_PNR = "201803152386"
"""Another child of the area (born 2018-03-15), known to no one before the import."""


def row(eservice_id: str, **changes: Any) -> dict[str, Any]:
    """One card of the export in its JSON form, filed by the teacher at skola-ostra."""
    card = card_payload("skola-ostra")
    base: dict[str, Any] = {
        "eservice_id": eservice_id,
        "personnummer": CHILD_PNR,
        "given_name": "Alva",
        "family_name": "Lind",
        "guardians": [{"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True}],
        "staff_id": "larare.ostra",
        "unit_id": "skola-ostra",
        "filed_on": "2026-02-20",
        **card,
    }
    base.update(changes)
    return base


def as_csv(rows: list[dict[str, Any]]) -> bytes:
    """The rows in the CSV form: lists as JSON cells, booleans as ``true``/``false``, text as it is."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for r in rows:
        flat: dict[str, Any] = {}
        for key, value in r.items():
            if key == "five_questions":
                flat.update({f"five_questions.{k}": v for k, v in value.items()})
            elif isinstance(value, bool):
                flat[key] = "true" if value else "false"
            elif isinstance(value, list):
                flat[key] = json.dumps(value, ensure_ascii=False)
            else:
                flat[key] = value
        writer.writerow(flat)
    return out.getvalue().encode()


def as_json(rows: list[dict[str, Any]]) -> bytes:
    return json.dumps({"cards": rows}, ensure_ascii=False).encode()


GOOD_AND_BAD = [
    row("e-1"),
    row("e-2", guardians_informed="yes"),
    row("e-3", filed_on="0001-01-01"),
    row("e-4", filed_on="9999-12-31"),
    row("e-5", staff_id="rektor.lidingo", unit_id="skola-lidingo"),
    row("e-6", to_unit_id="skola-lidingo"),
    row("e-7", personnummer=OTHER_CHILD_PNR, given_name="Ture", staff_id="polis.ystad", unit_id="polis-ystad"),
    row("e-8", staff_id="polis.ystad", unit_id="skola-ostra"),
]


def facts(rt: Runtime) -> int:
    return rt.hub.recorder.max_notification_id() or 0


@pytest.mark.parametrize("fmt", [ImportFormat.CSV, ImportFormat.JSON])
def test_a_file_of_good_and_bad_rows_is_reported_row_by_row_and_imports_once(runtime: Runtime, fmt: ImportFormat) -> None:
    data = as_csv(GOOD_AND_BAD) if fmt is ImportFormat.CSV else as_json(GOOD_AND_BAD)
    report = runtime.hub.import_cards(staff("admin.ystad"), data, fmt).as_dict()

    assert [r["eservice_id"] for r in report["accepted"]] == ["e-1", "e-7"]
    assert all(r["card_id"].startswith("card-e-") for r in report["accepted"])
    rejected = {r["eservice_id"]: r for r in report["rejected"]}
    assert list(rejected) == ["e-2", "e-3", "e-4", "e-5", "e-6", "e-8"]
    assert {r["row"] for r in report["rejected"]} == {2, 3, 4, 5, 6, 8}
    assert [e["field"] for e in rejected["e-2"]["errors"]] == ["guardians_informed"]
    assert [e["field"] for e in rejected["e-3"]["errors"]] == ["filed_on"]
    assert [e["field"] for e in rejected["e-4"]["errors"]] == ["filed_on"]
    assert [e["field"] for e in rejected["e-5"]["errors"]] == ["staff_id"]
    assert [e["field"] for e in rejected["e-6"]["errors"]] == ["to_unit_id"]
    assert [e["field"] for e in rejected["e-8"]["errors"]] == ["unit_id"]
    assert rejected["e-5"]["errors"][0]["message"] == "no such staff member in this cooperation area"
    text = json.dumps(report)
    assert "rektor.lidingo" not in text and "skola-lidingo" not in text
    assert CHILD_PNR not in text and OTHER_CHILD_PNR not in text and "Alva" not in text

    # the cards reach the Barnkontakt's case list as cards filed in the pages do
    listed = runtime.hub.case_list(staff("rektor.ostra"))
    assert len(listed) == 2
    sent = {c.card_id for c in runtime.hub.cards_sent_by(staff("larare.ostra"))}
    assert sent == {report["accepted"][0]["card_id"]}

    before = facts(runtime)
    again = runtime.hub.import_cards(staff("admin.ystad"), data, fmt).as_dict()
    assert again["accepted"] == []
    assert [r["eservice_id"] for r in again["skipped"]] == ["e-1", "e-7"]
    assert [r["card_id"] for r in again["skipped"]] == [r["card_id"] for r in report["accepted"]]
    assert facts(runtime) == before


def test_the_same_card_twice_in_one_file_is_filed_once(memory_runtime: Runtime) -> None:
    report = memory_runtime.hub.import_cards(staff("admin.ystad"), as_json([row("e-1"), row("e-1")]), ImportFormat.JSON)
    assert [r.row for r in report.accepted] == [1]
    assert [r.row for r in report.skipped] == [2]
    assert len(memory_runtime.hub.cards_sent_by(staff("larare.ostra"))) == 1


def test_staff_import_only_their_own_cards_and_an_auditor_none(memory_runtime: Runtime) -> None:
    rows = [row("e-1"), row("e-2", staff_id="rektor.ostra"), row("e-3", staff_id="polis.ystad", unit_id="polis-ystad")]
    report = memory_runtime.hub.import_cards(staff("larare.ostra"), as_json(rows), ImportFormat.JSON)
    assert [r.eservice_id for r in report.accepted] == ["e-1"]
    assert [r.eservice_id for r in report.rejected] == ["e-2", "e-3"]
    assert all(r.title == "Not permitted" for r in report.rejected)

    with pytest.raises(NotPermittedError):
        memory_runtime.hub.import_cards(staff("granskare.ystad"), as_json([row("e-9")]), ImportFormat.JSON)
    assert {c.card_id for c in memory_runtime.hub.cards_sent_by(staff("larare.ostra"))} == {report.accepted[0].card_id}


def test_a_card_naming_a_unit_the_filer_may_not_file_for_is_refused_by_the_card_command(memory_runtime: Runtime) -> None:
    """The importer's permission is not the card's: the card itself still asks as its filer."""
    report = memory_runtime.hub.import_cards(
        staff("admin.ystad"), as_json([row("e-1", unmet_needs=[])]), ImportFormat.JSON
    )
    assert [e["field"] for e in report.rejected[0].errors] == ["unmet_needs"]


def test_a_dry_run_appends_nothing_and_reports_what_would_be_done(runtime: Runtime) -> None:
    before = facts(runtime)
    report = runtime.hub.import_cards(staff("admin.ystad"), as_csv(GOOD_AND_BAD), ImportFormat.CSV, dry_run=True)
    assert [r.eservice_id for r in report.accepted] == ["e-1", "e-7"]
    assert len(report.rejected) == 6
    assert facts(runtime) == before
    real = runtime.hub.import_cards(staff("admin.ystad"), as_csv(GOOD_AND_BAD), ImportFormat.CSV)
    assert [r.card_id for r in real.accepted] == [r.card_id for r in report.accepted]


@pytest.mark.parametrize(
    ("data", "fmt", "field"),
    [
        (b'{"cards": [', ImportFormat.JSON, "file"),
        (b'{"cards": {"a": 1}}', ImportFormat.JSON, "file"),
        (b"\xff\xfe\x00not text", ImportFormat.CSV, "file"),
        (b"eservice_id,personnummer\ne-1,x\n", ImportFormat.CSV, "unit_id"),
        (b"", ImportFormat.CSV, "file"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(memory_runtime: Runtime, data: bytes, fmt: ImportFormat, field: str) -> None:
    before = facts(memory_runtime)
    with pytest.raises(ImportFileError) as refused:
        memory_runtime.hub.import_cards(staff("admin.ystad"), data, fmt)
    assert field in {e["field"] for e in refused.value.errors} | {refused.value.field}
    assert facts(memory_runtime) == before


def test_a_csv_row_with_more_cells_than_the_header_is_refused_whole(memory_runtime: Runtime) -> None:
    data = as_csv([row("e-1")]) + b"a,b,c\n" + b"x," * 40 + b"\n"
    with pytest.raises(ImportFileError):
        memory_runtime.hub.import_cards(staff("admin.ystad"), data, ImportFormat.CSV)
    assert memory_runtime.hub.cards_sent_by(staff("larare.ostra")) == []


def test_the_file_size_and_row_bounds_refuse_before_anything_is_filed(memory_runtime: Runtime) -> None:
    data = as_json([row(f"e-{i}") for i in range(3)])
    with pytest.raises(ImportFileError, match="rows"):
        memory_runtime.hub.import_cards(staff("admin.ystad"), data, ImportFormat.JSON, max_rows=2)
    with pytest.raises(ImportFileError, match="bytes"):
        memory_runtime.hub.import_cards(staff("admin.ystad"), data, ImportFormat.JSON, max_bytes=len(data) - 1)
    assert memory_runtime.hub.cards_sent_by(staff("larare.ostra")) == []
    report = memory_runtime.hub.import_cards(staff("admin.ystad"), data, ImportFormat.JSON, max_rows=3, max_bytes=len(data))
    assert len(report.accepted) == 3


def test_a_dry_run_refuses_what_registering_the_child_would(memory_runtime: Runtime) -> None:
    """An adult or a child not yet born is refused by the dry run as by the import."""
    rows = [row("e-1", personnummer="198203142396"), row("e-2", personnummer="202712242383")]
    for dry_run in (True, False):
        report = memory_runtime.hub.import_cards(staff("admin.ystad"), as_json(rows), ImportFormat.JSON, dry_run=dry_run)
        assert [[e["field"] for e in r.errors] for r in report.rejected] == [["personnummer"]] * 2, report.as_dict()


def test_a_number_for_a_day_and_a_wrongly_spelt_day_are_refused(memory_runtime: Runtime) -> None:
    rows = [row("e-1", filed_on=20260220), row("e-2", filed_on="20/02/2026"), row("e-3", filed_on="2026-12-24")]
    report = memory_runtime.hub.import_cards(staff("admin.ystad"), as_json(rows), ImportFormat.JSON)
    assert [[e["field"] for e in r.errors] for r in report.rejected] == [["filed_on"]] * 3


def test_the_documented_examples_import(memory_runtime: Runtime) -> None:
    """The examples in docs/import-format.md are files the importer takes."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "import-format.md").read_text(encoding="utf-8")
    csv_example = doc.split("```csv\n", 1)[1].split("```", 1)[0].encode()
    json_example = doc.split("```json\n", 1)[1].split("```", 1)[0].encode()
    by_csv = memory_runtime.hub.import_cards(staff("admin.ystad"), csv_example, ImportFormat.CSV)
    assert [r.eservice_id for r in by_csv.accepted] == ["et-2026-0117"], by_csv.as_dict()
    by_json = memory_runtime.hub.import_cards(staff("admin.ystad"), json_example, ImportFormat.JSON)
    assert [r.eservice_id for r in by_json.skipped] == ["et-2026-0117"], by_json.as_dict()


def test_an_import_stopped_half_way_and_run_again_files_each_card_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies after the first card is on the log; the file is imported again by a new process."""
    settings = Settings(store="sqlite", data_dir=tmp_path / "data", demo_mode=True)
    clock = SettableClock(START)
    data = as_csv([row("e-1"), row("e-2", personnummer=OTHER_CHILD_PNR, given_name="Ture")])
    rt = bootstrap(settings, clock=clock, directory=directory())
    try:
        filed = rt.hub.submit_discovery_card
        calls = []

        def dies_on_the_second(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == 2:
                raise SystemExit("the process is killed")
            return filed(*args, **kwargs)

        monkeypatch.setattr(rt.hub, "submit_discovery_card", dies_on_the_second)
        with pytest.raises(SystemExit):
            rt.hub.import_cards(staff("admin.ystad"), data, ImportFormat.CSV)
    finally:
        rt.close()

    again = bootstrap(settings, clock=clock, directory=directory())
    try:
        report = again.hub.import_cards(staff("admin.ystad"), data, ImportFormat.CSV)
        assert [r.eservice_id for r in report.skipped] == ["e-1"]
        assert [r.eservice_id for r in report.accepted] == ["e-2"]
        assert len(again.hub.cards_sent_by(staff("larare.ostra"))) == 2
    finally:
        again.close()


def test_two_imports_racing_file_the_card_once(memory_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both see the card missing; the child's record takes it once and the second is told it is there."""
    hub = memory_runtime.hub
    monkeypatch.setattr(hub, "_already_imported", lambda *args: False)
    first = hub.import_cards(staff("admin.ystad"), as_json([row("e-1")]), ImportFormat.JSON)
    second = hub.import_cards(staff("admin.ystad"), as_json([row("e-1")]), ImportFormat.JSON)
    assert len(first.accepted) == 1
    assert [r.card_id for r in second.skipped] == [first.accepted[0].card_id]
    assert len(hub.cards_sent_by(staff("larare.ostra"))) == 1


def test_a_store_that_cannot_be_reached_stops_the_import_and_a_run_again_finishes_it(
    memory_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows after an outage are not reported as the file's fault: the import stops with
    the store's problem, and run again, files what is left and skips what was filed."""
    hub = memory_runtime.hub
    data = as_json([row("e-1"), row("e-2")])
    filed = hub.submit_discovery_card
    calls: list[int] = []

    def away_on_the_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise StoreUnavailableError("the store cannot be reached")
        return filed(*args, **kwargs)

    monkeypatch.setattr(hub, "submit_discovery_card", away_on_the_second)
    with pytest.raises(StoreUnavailableError):
        hub.import_cards(staff("admin.ystad"), data, ImportFormat.JSON)
    monkeypatch.setattr(hub, "submit_discovery_card", filed)
    report = hub.import_cards(staff("admin.ystad"), data, ImportFormat.JSON)
    assert [r.eservice_id for r in report.skipped] == ["e-1"]
    assert [r.eservice_id for r in report.accepted] == ["e-2"]


def _cards_on_the_log(rt: Runtime) -> list[Any]:
    from contracts.events import DiscoveryCardSubmitted

    stored = (rt.hub.mapper.to_domain_event(n) for n in rt.hub.recorder.select_notifications(1, rt.hub.log_length() + 1))
    return [e.fact for e in stored if isinstance(getattr(e, "fact", None), DiscoveryCardSubmitted)]


def test_a_card_imported_in_a_colleague_s_name_says_on_the_log_who_brought_it_in(memory_runtime: Runtime) -> None:
    """The card is the discoverer's, but an administrator put it there: an auditor reading
    the log must see both, or an import would file facts in someone's name unseen."""
    memory_runtime.hub.import_cards(staff("admin.ystad"), as_json([row("e-1")]), ImportFormat.JSON)
    (card,) = _cards_on_the_log(memory_runtime)
    assert card.imported_by == "admin.ystad"


def test_a_card_filed_or_imported_by_its_own_discoverer_names_no_importer(memory_runtime: Runtime) -> None:
    memory_runtime.hub.import_cards(staff("larare.ostra"), as_json([row("e-1")]), ImportFormat.JSON)
    (card,) = _cards_on_the_log(memory_runtime)
    assert card.imported_by is None
