"""``backa import cards FILE``: discovery cards from a municipality's e-service export.

Run by the area's administrator, or by a member of staff for the cards they filed
themselves (a token in BACKA_TOKEN). The file's format is ``docs/import-format.md``. The
report goes to standard output, as JSON or as a table: row numbers, the e-service's ids, the
cards' ids and the fields refused, never a child's name or personnummer. Importing the same
file again files nothing twice.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

EXIT_REFUSED = 2
EXIT_ROWS_REJECTED = 1


def cmd_import_cards(args: argparse.Namespace) -> int:
    from hub.application.card_import import MAX_FILE_BYTES, ImportFileError, ImportFormat
    from hub.cli import _say, _settings
    from hub.errors import HubError
    from hub.runtime.bootstrap import bootstrap

    token = os.environ.get("BACKA_TOKEN", "").strip()
    if not token:
        _say("backa import cards: set BACKA_TOKEN to the importer's bearer token")
        return EXIT_REFUSED
    path: Path = args.file
    fmt = ImportFormat(args.format) if args.format else _format_of(path)
    if fmt is None:
        _say("backa import cards: name the format with --format csv or --format json")
        return EXIT_REFUSED
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)  # one byte more than taken is enough to refuse
    except OSError as e:
        _say(f"backa import cards: the file cannot be read: {e.strerror}")
        return EXIT_REFUSED
    runtime = bootstrap(_settings(args), wait_for_views=True)
    try:
        try:
            principal = runtime.verifier.verify(token)
            report = runtime.hub.import_cards(principal, data, fmt, dry_run=args.dry_run)
        except ImportFileError as e:
            fields = ", ".join(f"{x['field']}: {x['message']}" for x in e.errors if x.get("field") != "file")
            _say(f"backa import cards: the file is refused: {e.detail}" + (f" ({fields})" if fields else ""))
            return EXIT_REFUSED
        except HubError as e:
            _say(f"backa import cards: refused: {e.detail}")
            return EXIT_REFUSED
    finally:
        runtime.close()
    out = report.as_dict()
    if args.output == "table":
        print(_table(out))
    else:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    verb = "would be imported (dry run: nothing filed)" if args.dry_run else "imported"
    _say(f"backa import cards: {len(report.accepted)} {verb}, {len(report.skipped)} already imported, {len(report.rejected)} rejected")
    return EXIT_ROWS_REJECTED if report.rejected else 0


def cmd_import_directory(args: argparse.Namespace) -> int:
    """Bring each area of a ``directory.json`` that the directory's log does not have yet onto
    it, as its first facts; an area the log has is left as the log has it (change it in the
    pages or the API, where each change is recorded in its maker's name)."""
    from hub.cli import _say, _settings
    from hub.errors import HubError
    from hub.identity.directory import Directory
    from hub.runtime.bootstrap import live_directory
    from hub.runtime.clock import system_clock
    from hub.runtime.stores import store_kit

    try:
        seed = Directory.load(args.file)
    except OSError as e:
        _say(f"backa import directory: the file cannot be read: {e.strerror}")
        return EXIT_REFUSED
    except HubError as e:
        _say(f"backa import directory: the file is refused: {e.detail}")
        return EXIT_REFUSED
    except (ValueError, KeyError, TypeError) as e:
        _say(f"backa import directory: the file is not a directory.json ({type(e).__name__}: {e})"[:300])
        return EXIT_REFUSED
    settings = _settings(args)
    kit = store_kit(settings)
    try:
        live = live_directory(settings, kit, Directory(), system_clock)
        try:
            on_log = set(live.tenants)
            brought = live.bring_in(seed, actor=_import_actor(), at=system_clock(), save=not args.dry_run)
        finally:
            live.close()
    except HubError as e:  # an entry the directory cannot hold: nothing was brought in
        _say(f"backa import directory: the file is refused: {e.detail}")
        return EXIT_REFUSED
    finally:
        kit.close()
    for tenant_id in sorted(seed.tenants):
        if tenant_id in on_log:
            state = "already on the directory's log: left as the log has it"
        elif args.dry_run:
            state = "would be brought in"
        else:
            state = "brought in" if tenant_id in brought else "brought in meanwhile by another process"
        print(f"{tenant_id}: {state}")
    return 0


def _import_actor() -> Any:
    from hub.application.directory_log import import_actor

    return import_actor()


def _format_of(path: Path) -> Any:
    from hub.application.card_import import ImportFormat

    return {".csv": ImportFormat.CSV, ".json": ImportFormat.JSON}.get(path.suffix.lower())


def _table(report: dict[str, Any]) -> str:
    """One line per row, in the file's order: its number, what became of it, and why."""
    lines = [(r, "accepted") for r in report["accepted"]] + [(r, "skipped") for r in report["skipped"]]
    lines += [(r, "rejected") for r in report["rejected"]]
    out = [f"{'row':>5}  {'outcome':<9} {'eservice_id':<24} detail"]
    for r, outcome in sorted(lines, key=lambda x: x[0]["row"]):
        detail = r.get("card_id", "") if outcome != "rejected" else "; ".join(f"{e['field']}: {e['message']}" for e in r["errors"])
        out.append(f"{r['row']:>5}  {outcome:<9} {str(r['eservice_id'] or '-'):<24} {detail}")
    return "\n".join(out)


def add_parser(sub: Any) -> None:
    imports = sub.add_parser("import", help="bring in what agencies' own systems hold")
    imports_sub = imports.add_subparsers(dest="import_command", required=True)
    cards = imports_sub.add_parser(
        "cards",
        help="discovery cards from a municipality's e-service export, CSV or JSON as docs/import-format.md says "
        "(the importer's token in BACKA_TOKEN)",
    )
    cards.add_argument("file", type=Path, metavar="FILE", help="the export file")
    cards.add_argument("--format", choices=("csv", "json"), default=None, help="the file's format (default: its suffix)")
    cards.add_argument("--dry-run", action="store_true", help="check every row and report, and file nothing")
    cards.add_argument("--output", choices=("json", "table"), default="json", help="the report as JSON (default) or a table")
    cards.add_argument("--data-dir", type=Path, default=None, help="the hub's data folder (default BACKA_DATA_DIR or ./data)")
    cards.set_defaults(func=cmd_import_cards)
    directory = imports_sub.add_parser(
        "directory",
        help="bring a directory.json's areas (units, staff, roles) onto the directory's log, once: "
        "areas already there are left as they are",
    )
    directory.add_argument("file", type=Path, metavar="FILE", help="a directory.json")
    directory.add_argument("--dry-run", action="store_true", help="say what would be brought in, and bring in nothing")
    directory.add_argument("--data-dir", type=Path, default=None, help="the hub's data folder (default BACKA_DATA_DIR or ./data)")
    directory.set_defaults(func=cmd_import_directory)
