"""Which requests count as another site's: the rule the app checks on every request
that changes something (Fetch Metadata and ``Origin``, OWASP ASVS 4.0 V4.2.2)."""

from __future__ import annotations

import pytest

from hub.http.origin import cross_site

HOST = "hub.ystad.example"


@pytest.mark.parametrize(
    ("origin", "fetch_site"),
    [
        (None, "cross-site"),
        (None, "same-site"),  # a sibling host of the same site is still another origin
        ("https://evil.example", None),
        ("https://evil.example", "cross-site"),
        ("https://hub.ystad.example", "cross-site"),  # the browser's word on the site wins
        ("null", None),  # a sandboxed frame or a data: page
        ("https://hub.ystad.example.evil.example", None),
        ("https://hub.ystad.example:8443", None),
        ("not an origin", None),
    ],
)
def test_a_post_from_another_site_is_cross_site(origin: str | None, fetch_site: str | None) -> None:
    assert cross_site("POST", HOST, origin, fetch_site)


@pytest.mark.parametrize(
    ("origin", "fetch_site"),
    [
        (None, "same-origin"),
        (None, "none"),  # typed into the address bar, a bookmark
        ("https://hub.ystad.example", None),
        ("https://hub.ystad.example:443", None),
        ("http://hub.ystad.example", None),  # TLS ended by a proxy in front
        ("https://HUB.ystad.example", "same-origin"),
        (None, None),  # an API client with a bearer token sends neither
    ],
)
def test_a_post_from_this_site_or_from_no_page_is_not(origin: str | None, fetch_site: str | None) -> None:
    assert not cross_site("POST", HOST, origin, fetch_site)


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_reading_is_never_refused_for_where_it_came_from(method: str) -> None:
    assert not cross_site(method, HOST, "https://evil.example", "cross-site")


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "post"])
def test_every_method_that_changes_something_is_checked(method: str) -> None:
    assert cross_site(method, HOST, "https://evil.example", None)
