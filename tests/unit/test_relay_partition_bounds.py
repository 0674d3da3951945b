"""A partition count is refused past the relay's ceiling however it is asked for: a
re-partitioning into a hundred million partitions would write as many positions in one
transaction (and every relay process reads the whole log), so it stops at once with a
message instead of trying. A partition is written in the digits 0 to 9 only."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.relay_partition import MOST_PARTITIONS, Partition, RelayPartitionError
from hub.cli import main

UNREACHABLE_NATS = "nats://127.0.0.1:1"


@pytest.mark.parametrize("text", ["0/5000", f"0/{MOST_PARTITIONS + 1}", "3/99999999999"])
def test_a_partition_of_more_than_the_ceiling_is_refused(text: str) -> None:
    with pytest.raises(RelayPartitionError, match=f"from 1 to {MOST_PARTITIONS}|written I/N"):
        Partition.parse(text)


@pytest.mark.parametrize("text", ["\u0660/\u0662", "0/\uff12", "0/2/3", "a/b", "-1/2", "0/0", "3/2"])
def test_a_partition_not_written_as_i_of_n_in_plain_digits_is_refused(text: str) -> None:
    with pytest.raises(RelayPartitionError):
        Partition.parse(text)


def test_the_ceiling_itself_is_a_partition_count() -> None:
    assert Partition.parse(f"{MOST_PARTITIONS - 1}/{MOST_PARTITIONS}") == Partition(MOST_PARTITIONS - 1, MOST_PARTITIONS)


@pytest.mark.parametrize("count", ["100000000", "0", "-2"])
def test_backa_relay_refuses_to_repartition_past_the_ceiling_before_it_reaches_anything(
    count: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BACKA_DEMO_MODE", "1")
    monkeypatch.chdir(tmp_path)
    code = main(["relay", "--data-dir", str(tmp_path / "data"), "--nats", UNREACHABLE_NATS, "--repartition", count])
    assert code == 2
    assert f"{int(count)} partitions: the count runs from 1 to {MOST_PARTITIONS}" in capsys.readouterr().err
