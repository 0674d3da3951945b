"""What every controller shares: handlers run in worker threads.

The core blocks on its store, so handlers run off the event loop; concurrent commands
then meet in the hub's group commit and share transactions instead of queueing for one
each. Each answer still reflects everything committed before it was given.
"""

from __future__ import annotations

from functools import partial
from uuid import UUID

from litestar import get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from consent import ViewerKind
from hub.application import BackaHub
from hub.identity.principals import Principal

Hub = NamedDependency[BackaHub]
"""The hub's core, as the app provides it."""
Caller = NamedDependency[Principal]
"""Who is calling, from the bearer token."""
ChildId = FromPath[UUID]

command = partial(post, sync_to_thread=True)
replace = partial(put, sync_to_thread=True)
query = partial(get, sync_to_thread=True)

FAMILY = (ViewerKind.GUARDIAN, ViewerKind.CHILD)


def is_family(caller: Principal) -> bool:
    return caller.kind in FAMILY
