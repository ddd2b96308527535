"""Security & Sessions in two browsers: both signed in to one account, the first lists both
sessions, signs the other out from the list after a step-up, and the other's next page asks
to sign in."""

import re

from fibe_access.accounts.models import SecurityEvent

from .conftest import PASSWORD, screenshot

SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15"
)


def test_one_browser_signs_the_other_out_from_the_session_list(page, person, browser, live_server):
    # given a fresh sign-in (no recent step-up) and a second browser (another context: its own
    # cookies) signed in to the same account
    person.sign_in_again()
    other = browser.new_context(base_url=live_server.url, user_agent=SAFARI_MAC).new_page()
    other.set_default_timeout(15_000)
    other.goto("/accounts/login/")
    other.get_by_label("E-mail address").fill(person.email)
    other.get_by_label("Password").fill(PASSWORD)
    other.get_by_role("button", name="Sign in").click()
    other.wait_for_url(re.compile(r"/profile/"))

    # when the first lists its sessions
    page.goto("/profile/security/")
    sessions = page.locator("table.sessions tbody tr")
    assert sessions.count() == 2
    here = sessions.filter(has_text="This one")
    assert here.count() == 1 and "HeadlessChrome" in here.inner_text()
    safari = sessions.filter(has_text="Safari 17")
    assert "Mac OS X" in safari.inner_text() and "127.0.0.1" in safari.inner_text()
    assert "now" in safari.inner_text()  # signed in and last active, relative
    screenshot(page, "security-sessions")

    # and ends the Safari one: a step-up, a confirmation, then it is gone
    safari.get_by_role("button", name="End session").click()
    page.wait_for_url(re.compile(r"/profile/verify/"))
    person.step_up()
    page.wait_for_url(re.compile(r"/profile/sessions/\w+/end/"))
    assert "Safari 17 on Mac OS X" in page.locator("main").inner_text()
    page.get_by_role("button", name="Sign it out").click()
    page.wait_for_url(re.compile(r"/profile/security/"))
    assert "Signed out Safari 17 on Mac OS X" in page.locator("main").inner_text()
    assert page.locator("table.sessions tbody tr").count() == 1
    screenshot(page, "security-sessions-ended")

    # then the other browser's next page asks it to sign in
    other.goto("/profile/security/")
    other.wait_for_url(re.compile(r"/accounts/login/"))
    assert other.get_by_role("button", name="Sign in").is_visible()
    assert SecurityEvent.objects.filter(kind="session_ended").count() == 1
    # and this one is still signed in
    page.goto("/profile/security/")
    assert page.locator("table.sessions tbody tr").filter(has_text="This one").count() == 1
    other.context.close()
