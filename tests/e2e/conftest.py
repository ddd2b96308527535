"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server."""

import re
from base64 import b32decode
from pathlib import Path

import pytest
from django_otp.oath import totp

from tests.support.browser import ARTEFACTS, CHROMIUM, DESKTOP, PHONE  # noqa: F401

PASSWORD = "a long and unusual passphrase 73"


def mail_link(to: str, pattern: str) -> str:
    """The path of the link in the newest mail to ``to`` (the live server shares this process's
    locmem outbox)."""
    from django.core import mail

    for message in reversed(mail.outbox):
        if to in message.to:
            found = re.search(pattern, message.body)
            if found:
                return found[1]
    raise AssertionError(f"no mail to {to} with {pattern}")


def screenshot(page, name: str) -> Path:
    path = ARTEFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def code_for(secret: str, *, drift: int = 0) -> str:
    key = b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key, drift=drift):06d}"


class Person:
    """A new user as they would go: sign up, enrol TOTP from the secret shown on the page."""

    def __init__(self, page, email: str):
        self.page = page
        self.email = email
        self.secret = ""
        self._drift = 0

    def next_code(self) -> str:
        # Each TOTP code works once: use the next time step for each verification
        # (the device accepts one step of drift either way).
        code = code_for(self.secret, drift=self._drift)
        self._drift += 1
        return code

    def sign_up_and_enrol(self, look=None) -> "Person":
        """``look(name)``, when given, is called on each page of the way (the responsive test
        checks them)."""
        look = look or (lambda name: None)
        page = self.page
        page.goto("/accounts/signup/")
        look("sign-up")
        page.get_by_label("E-mail address").fill(self.email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url(re.compile(r"/accounts/signup/done/"))
        assert page.get_by_role("heading", name="Check your inbox").is_visible()
        look("sign-up-done")
        page.goto(mail_link(self.email, r"https?://[^/]+(/accounts/verify-email/\S+/)"))
        page.wait_for_url(re.compile(r"/accounts/login/\?next="))
        look("sign-in")
        page.get_by_label("E-mail address").fill(self.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/profile/totp/"))
        self.secret = page.locator("#totp-secret").inner_text().strip()
        screenshot(page, "totp-enrol")
        look("totp-enrol")
        page.get_by_label(re.compile("Code from your authenticator")).fill(self.next_code())
        page.get_by_role("button", name="Turn on two-factor authentication").click()
        page.wait_for_url(re.compile(r"/profile/backup-codes/"))
        look("backup-codes")
        page.get_by_role("link", name=re.compile("I have saved them")).click()
        return self

    def sign_in_again(self) -> None:
        page = self.page
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(re.compile(r"/accounts/login/"))
        page.get_by_label("E-mail address").fill(self.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/profile/"))

    def step_up(self) -> None:
        self.page.get_by_label(re.compile("Code from your authenticator")).fill(self.next_code())
        self.page.get_by_role("button", name="Verify").click()


@pytest.fixture
def person(page, transactional_db):
    return Person(page, "ada@example.com").sign_up_and_enrol()
