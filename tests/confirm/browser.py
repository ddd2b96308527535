"""Playwright for the live confirmation tests: Debian's Chromium (as tests/e2e), a person
signing in with a password and passing the step-up with a TOTP code."""

from __future__ import annotations

import re
from contextlib import contextmanager

from tests.e2e.conftest import screenshot

from .conftest import PASSWORD

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@contextmanager
def browser_page(browser, base_url: str, device: dict | None = None):
    """A page of the session's Chromium (tests/e2e's ``browser`` fixture: one Playwright per
    session, so this mixes with the e2e tests) whose CSP violations fail the test."""
    context = browser.new_context(base_url=base_url, **(device or DESKTOP))
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    try:
        yield page
    finally:
        context.close()
    assert violations == []


def sign_in(page, owner) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(owner.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/profile/"))


def open_and_decide(page, owner, url: str, decision: str, shot: str | None = None) -> None:
    """Open a confirmation link as its owner: sign in, step up with a TOTP code, then press
    Approve or Deny."""
    page.goto(url)
    if "/accounts/login/" in page.url:
        page.get_by_label("E-mail address").fill(owner.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/verify/|/confirmations/"))
    if "/confirmations/" not in page.url:
        page.get_by_label(re.compile("Code from your authenticator")).fill(owner.next_code())
        page.get_by_role("button", name="Verify").click()
        page.wait_for_url(re.compile(r"/confirmations/\d+/"))
    assert page.get_by_role("heading", name="Approve this destructive call?").is_visible()
    if shot:
        screenshot(page, shot)
    page.get_by_role("button", name=decision).click()
    page.wait_for_url(re.compile(r"/confirmations/\d+/"))
    expected = "Approved." if decision == "Approve" else "Denied."
    assert page.get_by_text(expected, exact=False).first.is_visible()
