import re

import pytest

from fibe_access.accounts.models import SecurityEvent, User

from .conftest import screenshot

pytestmark = pytest.mark.e2e


def test_new_user_signs_up_enrols_steps_up_and_reaches_api_keys(page, person):
    # given a new user who has just enrolled an authenticator from the secret on the page
    user = User.objects.get(email=person.email)
    assert user.totpdevice_set.filter(confirmed=True).count() == 1
    # when they come back in a new session and open Profile → API Keys
    person.sign_in_again()
    page.get_by_role("link", name="API Keys").click()
    # then they are asked for a code first, and land on the page after entering it
    page.wait_for_url(re.compile(r"/profile/verify/\?next=%2Fprofile%2Fapi-keys%2F"))
    screenshot(page, "step-up")
    person.step_up()
    page.wait_for_url(re.compile(r"/profile/api-keys/$"))
    assert page.get_by_role("heading", name="API Keys", exact=True).is_visible()
    screenshot(page, "api-keys-after-step-up")
    kinds = set(SecurityEvent.objects.filter(user=user).values_list("kind", flat=True))
    assert {
        "signed_up",
        "device_added",
        "backup_codes_generated",
        "signed_in",
        "step_up_passed",
    } <= kinds


def test_wrong_code_in_the_browser_shows_a_clear_error(page, person):
    person.sign_in_again()
    page.goto("/profile/webhooks/")
    page.get_by_label(re.compile("Code from your authenticator")).fill("000000")
    page.get_by_role("button", name="Verify").click()
    assert page.get_by_text("That code is not valid").is_visible()
    assert "/profile/verify/" in page.url
    screenshot(page, "step-up-wrong-code")
