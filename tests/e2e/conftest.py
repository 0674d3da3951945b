"""One headless Chromium for every browser test of the run (see :mod:`tests.e2e.browser`)."""

from tests.e2e.browser import browser

__all__ = ["browser"]
