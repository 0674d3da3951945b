"""The directory's log while PostgreSQL is cut off: the administrator's change and the
history are refused as a store that cannot be reached within the pool's wait (not after the
library's minute of retries, long after any client gave up), and a change goes through by
itself once the database is back."""

from __future__ import annotations

import time

import pytest

from contracts.vocabulary import UnitKind
from hub.application.directory_admin import AddUnit
from hub.errors import StoreUnavailableError
from hub.runtime.bootstrap import Runtime
from tests.factories import TENANT
from tests.integration.test_directory_log import ADMIN
from tests.integration.test_store_outage import RECOVERY_DEADLINE, TcpProxy, proxy, rt  # noqa: F401 - the cut-off database

__all__ = ["proxy", "rt"]
POOL_WAIT = 5.0
"""The database URL's ``pool_timeout`` by default: how long a call waits for a connection."""


def test_a_directory_change_is_refused_within_the_pool_wait_while_the_database_is_cut_off(rt: Runtime, proxy: TcpProxy) -> None:
    proxy.cut()

    for attempt in (
        lambda: rt.hub.add_unit(ADMIN, AddUnit(unit_id="skola-norra", kind=UnitKind.SCHOOL, name="Norra skolan")),
        lambda: rt.hub.directory_history(ADMIN),
    ):
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="directory cannot be"):
            attempt()
        assert time.monotonic() - started < 2 * POOL_WAIT + 2

    proxy.restore()
    deadline = time.monotonic() + RECOVERY_DEADLINE
    while True:
        try:
            rt.hub.add_unit(ADMIN, AddUnit(unit_id="skola-norra", kind=UnitKind.SCHOOL, name="Norra skolan"))
            break
        except StoreUnavailableError:
            assert time.monotonic() < deadline, "the directory did not come back with the database"
            time.sleep(0.5)
    assert rt.hub.directory.unit(TENANT, "skola-norra").name == "Norra skolan"
