"""What every controller shares: handlers run on the event loop, one request at a time.

The hub's embedded store takes one writer at a time and every read appends an audit
fact, so handlers call the core directly rather than from a thread pool; requests
are served in order, each seeing everything the one before it recorded.
"""

from __future__ import annotations

from functools import partial
from uuid import UUID

from litestar import get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from consent import ViewerKind
from hub.application import BackaHub
from hub.principals import Principal

Hub = NamedDependency[BackaHub]
"""The hub's core, as the app provides it."""
Caller = NamedDependency[Principal]
"""Who is calling, from the bearer token."""
ChildId = FromPath[UUID]

command = partial(post, sync_to_thread=False)
replace = partial(put, sync_to_thread=False)
query = partial(get, sync_to_thread=False)

FAMILY = (ViewerKind.GUARDIAN, ViewerKind.CHILD)


def is_family(caller: Principal) -> bool:
    return caller.kind in FAMILY
