"""``backa views rebuild``: bring the views up to the log with several processes;
``backa views prune``: drop the tables of views' versions nobody needs any more.

Each process owns a part of the children and writes every view for them
(:mod:`hub.runtime.rebuild`); a run stopped part way is resumed by running it again with
the same ``--processes``. Run it with the hub stopped. Counts only: no child is named.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

EXIT_REFUSED = 2
EXIT_FAILED = 1
MAX_PROCESSES = 64
"""Each process is an interpreter with connections of its own: thousands would exhaust the
machine and the database long before they sped anything up."""
MAX_PAGE = 100_000
"""A page is read, decoded and written in one transaction, held in memory whole."""


def cmd_views_rebuild(args: argparse.Namespace) -> int:
    from hub.cli import _say, _settings
    from hub.runtime.rebuild import RebuildError, rebuild

    if not 1 <= args.processes <= MAX_PROCESSES:
        _say(f"backa views rebuild: --processes must be from 1 to {MAX_PROCESSES}")
        return EXIT_REFUSED
    if not 1 <= args.page <= MAX_PAGE:
        _say(f"backa views rebuild: --page must be from 1 to {MAX_PAGE}")
        return EXIT_REFUSED
    settings = _settings(args)
    try:
        done = rebuild(settings, processes=args.processes, batch=args.page, from_scratch=args.from_scratch)
    except RebuildError as e:
        _say(f"backa views rebuild: {e}")
        return EXIT_FAILED
    rate = done.facts / done.seconds if done.seconds > 0 else 0.0
    _say(
        f"backa views rebuild: the views hold the log up to position {done.reached} "
        f"({done.facts} facts in {done.seconds:.1f} s, {rate:.0f}/s, {done.processes} process(es))"
    )
    return 0


def cmd_views_prune(args: argparse.Namespace) -> int:
    """Drop, now, what the hubs would drop at their next mark (:meth:`projections.base.ViewStore.prune`):
    the versions a newer caught-up version replaced that nobody has served from for the
    grace period (``--grace-seconds``, default the setting)."""
    from datetime import UTC, datetime

    from hub.cli import _say, _settings
    from hub.runtime.stores import store_kit
    from hub.runtime.view_versions import FAILED

    at = datetime.now(UTC)
    if args.at is not None:
        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            at = None  # type: ignore[assignment]
        if at is None or at.tzinfo is None:
            _say("backa views prune: --at must be a moment with its offset, e.g. 2026-12-04T06:00:00+01:00")
            return EXIT_REFUSED
    settings = _settings(args)
    grace = settings.views_prune_grace_seconds if args.grace_seconds is None else args.grace_seconds
    if grace < 0:
        _say("backa views prune: --grace-seconds must not be negative")
        return EXIT_REFUSED
    kit = store_kit(settings)
    try:
        if not kit.persistent:
            _say("backa views prune: a hub in memory keeps no views between starts")
            return EXIT_REFUSED
        views = kit.views(unreachable=lambda: RuntimeError("the views' store cannot be reached"), rows=None)
        try:
            now = int(at.timestamp())
            for view in views.all():
                gone = view.store.prune(view.name, now, grace)
                kept = "dropped versions " + ", ".join(map(str, gone)) if gone else "nothing to drop"
                _say(f"backa views prune: {view.name}: {kept}")
        except FAILED as e:
            _say(f"backa views prune: the views' store failed: {type(e).__name__}")
            return EXIT_FAILED
        finally:
            views.close()
    finally:
        kit.close()
    return 0


def add_parser(sub: Any) -> None:
    from pathlib import Path

    views = sub.add_parser("views", help="the views the hub reads from (the record, the case list, the access log, the figures)")
    views_sub = views.add_subparsers(dest="views_command", required=True)
    rebuild = views_sub.add_parser(
        "rebuild", help="bring the views up to the log with several processes, each owning a part of the children (hub stopped)"
    )
    rebuild.add_argument(
        "--processes", type=int, default=min(os.cpu_count() or 1, MAX_PROCESSES),
        help=f"processes to rebuild with (default: the machine's cores, at most {MAX_PROCESSES})",
    )
    rebuild.add_argument("--page", type=int, default=2000, help="facts read and written per transaction (default 2000)")
    rebuild.add_argument("--from-scratch", action="store_true", help="empty the views first and rebuild them from the whole log")
    rebuild.add_argument("--data-dir", type=Path, default=None, help="the hub's data folder (default BACKA_DATA_DIR or ./data)")
    rebuild.set_defaults(func=cmd_views_rebuild)
    prune = views_sub.add_parser(
        "prune", help="drop the tables of views' old versions that a caught-up newer version replaced and nobody uses"
    )
    prune.add_argument(
        "--grace-seconds", type=float, default=None,
        help="how long a version must have gone unused (default BACKA_VIEWS_PRUNE_GRACE_SECONDS)",
    )
    prune.add_argument("--at", default=None, help="the moment to decide at, with its offset (default: now)")
    prune.add_argument("--data-dir", type=Path, default=None, help="the hub's data folder (default BACKA_DATA_DIR or ./data)")
    prune.set_defaults(func=cmd_views_prune)
