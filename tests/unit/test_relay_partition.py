"""Which relay partition owns a child: the same in every process and release, spread evenly,
and written and stored in one way."""

from __future__ import annotations

from collections import Counter
from uuid import UUID, uuid1, uuid4

import pytest

from adapters.relay_partition import Partition, RelayPartitionError, parse_position_name, partition_of


def test_a_childs_partition_is_fixed_by_its_id_alone() -> None:
    # stored positions and running relays depend on these: a change of hash moves children
    known = {
        "00000000-0000-0000-0000-000000000000": [0, 0, 2, 4],
        "6f1c1d1e-3a4b-4c5d-8e9f-0a1b2c3d4e5f": [0, 2, 0, 1],
        "ffffffff-ffff-ffff-ffff-ffffffffffff": [1, 1, 3, 6],
    }
    for text, partitions in known.items():
        assert [partition_of(UUID(text), n) for n in (2, 3, 4, 7)] == partitions
        assert [partition_of(text, n) for n in (2, 3, 4, 7)] == partitions


@pytest.mark.parametrize("make", [uuid4, uuid1], ids=["random", "time-based"])
def test_children_spread_evenly_over_the_partitions(make: object) -> None:
    ids = [make() for _ in range(4000)]  # type: ignore[operator]
    spread = Counter(partition_of(i, 4) for i in ids)
    assert set(spread) == {0, 1, 2, 3}
    assert all(800 <= n <= 1200 for n in spread.values()), spread


def test_each_child_is_owned_by_exactly_one_partition() -> None:
    for child in (uuid4() for _ in range(200)):
        assert sum(Partition(i, 3).owns(child) for i in range(3)) == 1
        assert Partition().owns(child)


def test_a_partition_is_written_i_of_n_and_stored_under_its_own_name() -> None:
    assert Partition.parse("1/4") == Partition(1, 4)
    assert Partition.parse(" 0 / 1 ") == Partition()
    for bad in ("4/4", "1", "-1/2", "a/b", "0/0"):
        with pytest.raises(RelayPartitionError):
            Partition.parse(bad)
    assert Partition().position_name() == "relay"  # a single relay keeps the name it always had
    assert Partition(2, 3).position_name() == "relay.2of3"
    assert parse_position_name("relay.2of3") == Partition(2, 3)
    assert parse_position_name("relay") == Partition()
    assert parse_position_name("relay.3of3") is None
    assert parse_position_name("other") is None
