"""The hub served on a free port and driven in a real headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``, or ``BACKA_CHROMIUM``); Playwright is told
its path and never downloads a browser. A missing browser fails the test, never skips it.
Every page a test visits can be checked with axe-core (bundled by ``axe-playwright-python``)
and saved as a screenshot under ``test-output/screenshots``; a Swedish page is also scanned
for English words, codes, ids and ISO times (:mod:`tests.e2e.swedish_scan`).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.e2e.swedish_scan import assert_swedish
from tests.factories import directory
from tests.nats_server import free_port

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
BLOCKING_IMPACTS = ("serious", "critical")


def chromium_path() -> str:
    path = os.environ.get("BACKA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail(
            "no Chromium: install Debian's package (apt-get install -y chromium) or set BACKA_CHROMIUM", pytrace=False
        )
    return path


@dataclass
class ServedHub:
    runtime: Runtime
    clock: SettableClock
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.runtime.close()


def serve(data_dir: Path, *, demo_mode: bool = True, **settings: Any) -> ServedHub:
    """A hub (demo mode unless told) on SQLite in ``data_dir`` (unless ``store`` says otherwise),
    with the test directory, on a free port."""
    clock = SettableClock(datetime.now(UTC).replace(microsecond=0))
    runtime = bootstrap(
        Settings(**{"store": "sqlite", **settings, "data_dir": data_dir, "demo_mode": demo_mode, "session_cookie_secure": True}),
        clock=clock, directory=directory(),
    )
    port = free_port()
    config = uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="backa-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            runtime.close()
            pytest.fail("the hub did not start serving", pytrace=False)
        time.sleep(0.05)
    return ServedHub(runtime, clock, f"http://127.0.0.1:{port}", server, thread)


@dataclass
class Shots:
    """Numbered screenshots of one test, and the accessibility findings of each page."""

    name: str
    count: int = 0
    findings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def take(self, page: Page, label: str) -> Path:
        self.count += 1
        folder = SCREENSHOTS / self.name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.count:02d}-{re.sub(r'[^a-z0-9-]+', '-', label.lower()).strip('-')}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def check(self, page: Page, label: str) -> list[dict[str, Any]]:
        """axe-core on the page as it is now; the serious and critical violations."""
        results = Axe().run(page)
        blocking = [
            {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in results.response["violations"]
            if v.get("impact") in BLOCKING_IMPACTS
        ]
        self.findings[label] = blocking
        return blocking

    def visit(self, page: Page, label: str) -> None:
        """Screenshot and check the page; fail at once on a serious or critical violation,
        or on anything a Swedish page must not show."""
        self.take(page, label)
        blocking = self.check(page, label)
        assert blocking == [], f"{label} ({page.url}): {blocking}"
        assert_swedish(page.content(), f"{label} ({page.url})")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module. Playwright's sync API runs an event loop of its own
    while it is open, so it is closed before the modules that run their own loops."""
    path = chromium_path()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


def new_page(browser: Browser, *, phone: bool = False, locale: str = "sv-SE") -> Page:
    """A fresh browser context (its own cookies), as a desktop or a phone."""
    if phone:
        context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True, locale=locale)
    else:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
    return context.new_page()
