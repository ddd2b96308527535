"""The browser for every browser test: one Chromium (Debian's) driven by Playwright's sync API
for the whole session, and a page per test that fails the test on any Content-Security-Policy
violation. A plugin of the root conftest, so every folder shares the one session browser (two
sync Playwright instances cannot run in one thread)."""

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make are
# still synchronous, so Django's async-safety guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed: run `make test` (it installs it).")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        yield browser
        browser.close()


DESKTOP = {"viewport": {"width": 1280, "height": 900}}
# A phone as Chromium emulates one: device width, touch, the mobile viewport meta honoured.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}


@pytest.fixture
def device():
    """The browser context's options: a desktop window unless a test module overrides this."""
    return DESKTOP


@pytest.fixture
def page(browser, live_server, device):
    """A page whose every Content-Security-Policy violation fails the test that made it."""
    context = browser.new_context(base_url=live_server.url, **device)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.csp_violations = []
    page.on(
        "console",
        lambda msg: (
            page.csp_violations.append(f"{page.url}: {msg.text}")
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    yield page
    context.close()
    assert page.csp_violations == []
