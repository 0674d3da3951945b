"""``backa`` with its start held by a test: run as ``python -m tests.runtime.held_start serve ...``.

The hub's build waits until the file ``build`` appears in the folder named by
``HELD_START_DIR``, and its views apply nothing until ``views`` appears there, so a test of
a real server process sees each stage of its start for as long as it likes, however fast
or slow the machine is."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from hub import cli
from hub.runtime import bootstrap as composition
from projections.base import PageProjection

HOLD = Path(os.environ["HELD_START_DIR"])
LONGEST = 300.0
"""Seconds a held stage waits for the test before it goes on regardless."""


def until(name: str) -> None:
    deadline = time.monotonic() + LONGEST
    while not (HOLD / name).exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def held_build(original: Any) -> Any:
    def bootstrap(*args: Any, **kwargs: Any) -> Any:
        until("build")
        return original(*args, **kwargs)

    return bootstrap


def held_views(original: Any) -> Any:
    def process_page(self: Any, *args: Any, **kwargs: Any) -> Any:
        until("views")
        return original(self, *args, **kwargs)

    return process_page


composition.bootstrap = held_build(composition.bootstrap)
PageProjection.process_page = held_views(PageProjection.process_page)  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(cli.main(sys.argv[1:]))
