"""The consent page's "Confirm destructive actions" box (issue 22): ticked by default, so a
connected app's deletes wait for the person; unticked, they do not."""

import re

import pytest

from fibe_access.oauth.models import Grant
from tests.e2e.conftest import Person
from tests.oauth.test_consent_page import _open_consent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def person(page, transactional_db):
    return Person(page, "ada@example.com").sign_up_and_enrol()


@pytest.mark.parametrize("untick", [False, True])
def test_consent_box_is_on_by_default(page, person, live_server, untick):
    page.route(re.compile(r"^http://127\.0\.0\.1:8765/"), lambda r: r.fulfill(status=200))
    _open_consent(page, person, live_server, scope="mcp:access playspecs:delete")
    box = page.get_by_label("Confirm destructive actions")
    assert box.is_checked()
    if untick:
        box.uncheck()
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:8765/callback"))
    assert Grant.objects.get().key.confirm_destructive is (not untick)
