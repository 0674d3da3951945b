"""The API's tests beside the pages: the same in-memory hub in demo mode, and one client of both."""

from tests.web.conftest import client, rt

__all__ = ["client", "rt"]
