"""In the browser: the pages that carry scripts, forms and the QR code run under the strict
Content-Security-Policy without a single violation (the ``page`` fixture fails on any), the
password can be changed and reset, and a locked sign-in says so."""

import re

import pytest

from fibe_access.accounts.models import SecurityEvent, User

from .conftest import PASSWORD, mail_link, screenshot

pytestmark = pytest.mark.e2e

NEW = "another long passphrase 64"


def test_every_page_runs_under_the_policy(page, person):
    person.sign_in_again()
    page.goto("/profile/api-keys/new/")
    person.step_up()
    page.wait_for_url(re.compile(r"/profile/api-keys/new/$"))
    page.get_by_label("Label").fill("CSP check")
    page.locator('input[name="scopes"][value="playgrounds:read"]').check()
    page.get_by_role("button", name="Create key").click()
    page.wait_for_url(re.compile(r"/profile/api-keys/\d+/token/"))
    page.get_by_role("button", name="Copy token").click()
    page.get_by_role("button", name="Copied").wait_for()
    page.goto("/profile/webhooks/new/")
    page.get_by_label("Select all events").check()
    page.get_by_role("button", name="Generate").click()
    assert re.fullmatch(r"[0-9a-f]{64}", page.get_by_label("Signing secret").input_value())
    for url in (
        "/profile/webhooks/",
        "/profile/security/",
        "/profile/password/",
        "/profile/sessions/sign-out/",
        "/profile/backup-codes/new/",
        "/accounts/verify-email/",
        "/admin/login/",
        "/api/v1/docs",
    ):
        page.goto(url)
        page.wait_for_load_state("networkidle")
    screenshot(page, "api-docs-under-csp")


def test_a_person_changes_then_resets_their_password(page, person):
    user = User.objects.get(email=person.email)
    page.goto("/profile/security/")
    page.get_by_role("link", name="Change password…").click()  # enrolling just stepped up
    page.wait_for_url(re.compile(r"/profile/password/$"))
    page.get_by_label("Old password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("New password confirmation").fill(NEW)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url(re.compile(r"/profile/security/$"))
    assert page.get_by_text("Every other session was signed out").is_visible()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("E-mail address").fill(person.email)
    page.get_by_role("button", name="E-mail me a link").click()
    page.wait_for_url(re.compile(r"/accounts/password-reset/sent/"))
    page.goto(mail_link(person.email, r"https?://[^/]+(/accounts/password-reset/\S+/)"))
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Save the new password").click()
    page.wait_for_url(re.compile(r"/accounts/password-reset/done/"))
    screenshot(page, "password-reset-done")
    kinds = set(SecurityEvent.objects.filter(user=user).values_list("kind", flat=True))
    assert {"password_changed", "password_reset_requested", "password_reset"} <= kinds


def test_a_locked_sign_in_says_so_clearly(page, transactional_db, settings):
    settings.AXES_FAILURE_LIMIT = 3
    User.objects.create_user("locked@example.com", PASSWORD)
    for _ in range(3):
        page.goto("/accounts/login/")
        page.get_by_label("E-mail address").fill("locked@example.com")
        page.get_by_label("Password").fill("not it")
        page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("heading", name="Too many failed sign-ins").is_visible()
    screenshot(page, "sign-in-locked")
