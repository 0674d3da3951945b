"""``backa views rebuild``: bring the views up to the log with several processes.

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
