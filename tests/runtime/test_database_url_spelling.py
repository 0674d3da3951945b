"""A database URL is read as written or refused, never guessed at: a port of 0, a number
in another spelling than plain digits, a yes-or-no word beyond 1/0/true/false, a schema name PostgreSQL would cut short, or a fragment that would be
dropped each stop the start with a message naming the part, never the password."""

from __future__ import annotations

import pytest

from hub.runtime.stores import PostgresConfig

BASE = "postgresql://hub:s3cretpw@db.example:5433/backa"


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql://hub:s3cretpw@db.example:0/backa", "port must be a number from 1 to 65535"),
        ("postgresql://hub:s3cretpw@db.example:70000/backa", "port must be a number from 1 to 65535"),
        (f"{BASE}?pool_size=1_0", "option pool_size must be a whole number"),
        (f"{BASE}?pool_size=%205", "option pool_size must be a whole number"),
        (f"{BASE}?pool_size=\u0663", "option pool_size must be a whole number"),
        (f"{BASE}?keepalives_count=3.0", "option keepalives_count must be a whole number"),
        (f"{BASE}?pool_timeout=1_0.5", "option pool_timeout must be a number"),
        (f"{BASE}?statement_timeout=%EF%BC%95", "option statement_timeout must be a number"),  # a full-width 5
        (f"{BASE}?keepalives=yes", "option keepalives must be 1 or 0"),
        (f"{BASE}?pre_ping=on", "option pre_ping must be 1 or 0"),
        (f"{BASE}?schema={'s' * 64}", "schema must be a name of at most 63 bytes"),
        (f"{BASE}?schema=hub%00x", "schema must be a name of at most 63 bytes"),
        (f"{BASE}#pool_size=1", "may not end in a #fragment"),
        (f"{BASE}?pool_size=-3", "option pool_size must be at least 1"),
    ],
)
def test_a_url_spelled_otherwise_than_as_meant_is_refused(url: str, said: str) -> None:
    with pytest.raises(ValueError, match=said) as refused:
        PostgresConfig.from_url(url)
    assert "s3cretpw" not in str(refused.value)


def test_what_is_spelled_plainly_is_read() -> None:
    config = PostgresConfig.from_url(
        f"{BASE}?schema={'s' * 63}&pool_size=7&keepalives=false&pre_ping=TRUE&statement_timeout=2.5&pool_timeout=1e1"
    )
    assert (config.port, config.pool_size, config.keepalives, config.pre_ping) == (5433, 7, False, True)
    assert (config.statement_timeout, config.pool_timeout, config.schema) == (2.5, 10.0, "s" * 63)
    assert PostgresConfig.from_url("postgresql://hub@db.example/backa").port == 5432
