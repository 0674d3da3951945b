"""The import report names rows and fields, never the file's own cells: a cell written for a
spreadsheet (``=cmd|...``), a terminal escape or megabytes of text in an id, a made-up key or
column is not handed back in the report, the problem or the CLI's table."""

from __future__ import annotations

import json

import pytest

from hub.application.card_import import ImportFileError, ImportFormat
from hub.runtime.bootstrap import Runtime
from tests.factories import staff
from tests.integration.test_card_import import as_csv, row

INJECTIONS = ['=cmd|" /C calc"!A1', "+SUM(1)", "e-1\x1b[2J\r\nforged line", "a" * 5000, "e\x00"]


def test_an_eservice_id_outside_the_documented_spelling_is_not_echoed(memory_runtime: Runtime) -> None:
    data = json.dumps([row(i) for i in INJECTIONS] + [row("e-9", guardians_informed="yes")]).encode()
    report = memory_runtime.hub.import_cards(staff("admin.ystad"), data, ImportFormat.JSON).as_dict()
    assert [r["eservice_id"] for r in report["rejected"]] == [None] * len(INJECTIONS) + ["e-9"]
    assert all(r["errors"][0]["field"] == "eservice_id" for r in report["rejected"][:-1])
    text = json.dumps(report)
    assert "cmd" not in text and "SUM" not in text and "forged" not in text and "aaaa" not in text


def test_the_same_in_a_csv_file(memory_runtime: Runtime) -> None:
    report = memory_runtime.hub.import_cards(staff("admin.ystad"), as_csv([row(INJECTIONS[0])]), ImportFormat.CSV).as_dict()
    assert report["rejected"][0]["eservice_id"] is None


def test_a_made_up_key_is_reported_by_where_it_is_not_by_its_text(memory_runtime: Runtime) -> None:
    bad = row("e-1", **{"=HYPERLINK(\"http://x\")": 1})
    nested = row("e-2", guardians=[{"name": "A", "personnummer": "198203142396", "has_custody": True, "\x1b[31m" + "k" * 3000: 1}])
    data = json.dumps([bad, nested]).encode()
    report = memory_runtime.hub.import_cards(staff("admin.ystad"), data, ImportFormat.JSON).as_dict()
    fields = [[e["field"] for e in r["errors"]] for r in report["rejected"]]
    assert fields == [["row"], ["guardians.0"]]
    assert "HYPERLINK" not in json.dumps(report) and "kkkk" not in json.dumps(report)


def test_an_unknown_csv_column_with_a_made_up_name_is_not_echoed(memory_runtime: Runtime) -> None:
    header, rest = as_csv([row("e-1")]).split(b"\r\n", 1)
    data = header + b',=cmd|calc!A1,extra_note\r\n' + rest.replace(b"\r\n", b",x,y\r\n", 1)
    with pytest.raises(ImportFileError) as refused:
        memory_runtime.hub.import_cards(staff("admin.ystad"), data, ImportFormat.CSV)
    assert sorted(e["field"] for e in refused.value.errors if e["message"] == "unknown column") == ["column", "extra_note"]
    assert "cmd" not in json.dumps(refused.value.errors)
