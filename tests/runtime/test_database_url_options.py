"""Absurd values of the database URL's deadline options are refused with a message that
names the option and never the password: none may turn into "no deadline at all"."""

from __future__ import annotations

import pytest

from hub.runtime.stores import PostgresConfig

BASE = "postgresql://hub:s3cretpw@db.example:5433/backa"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("statement_timeout", "0.0001"),  # rounds to 0 ms: PostgreSQL's "never"
        ("statement_timeout", "inf"),
        ("statement_timeout", "nan"),
        ("statement_timeout", "1e308"),
        ("statement_timeout", "99999999999"),  # past PostgreSQL's limit: no connection would be made
        ("statement_timeout", "-1"),
        ("statement_timeout", "abc"),
        ("pool_timeout", "inf"),
        ("pool_timeout", "nan"),
        ("idle_in_transaction_session_timeout", "0.0000001"),
        ("idle_in_transaction_session_timeout", "inf"),
        ("conn_max_age", "nan"),
        ("tcp_user_timeout", "99999999999"),
        ("connect_timeout", "0"),
        ("keepalives", "maybe"),
        ("pool_size", "2147483647"),  # would try to open that many connections at start
        ("max_overflow", "100000"),
        ("keepalives_idle", "2147483647"),
        ("keepalives_count", "99999"),
        ("connect_timeout", "86401"),
    ],
)
def test_an_absurd_value_is_refused_naming_the_option_and_never_the_password(key: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"database URL option {key} ") as refused:
        PostgresConfig.from_url(f"{BASE}?{key}={value}")
    assert "s3cretpw" not in str(refused.value)


def test_a_value_of_a_millisecond_or_more_is_kept() -> None:
    config = PostgresConfig.from_url(f"{BASE}?statement_timeout=0.001&idle_in_transaction_session_timeout=0")
    assert config.connect_kwargs()["options"] == "-c statement_timeout=1 -c idle_in_transaction_session_timeout=0"
