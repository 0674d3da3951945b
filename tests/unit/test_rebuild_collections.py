"""The rebuild's garbage collector setting holds while it runs and is given back after,
even when the rebuild fails: a process that rebuilds in place (``backa views rebuild``
with one process) goes on with Python's own setting."""

from __future__ import annotations

import gc

import pytest

from hub.runtime.rebuild import COLLECT_EVERY, few_collections


def test_the_collector_runs_rarely_during_a_rebuild_and_as_before_after() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with few_collections():
        assert gc.get_threshold()[0] == COLLECT_EVERY > before[0]
        assert gc.get_freeze_count() > frozen  # what was there before is not scanned again
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen


def test_a_failed_rebuild_gives_the_collector_back() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), few_collections():
        raise RuntimeError("the store went away")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
