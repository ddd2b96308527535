"""The confirmation page, the key card's switch and waiting list, and the New API key choice,
as a person sees them on a phone, a tablet and a desktop: no sideways scroll, tap targets,
axe-core, the CSP (issue 22). Screenshots under test-artefacts/responsive/."""

import re

import pytest
from django.test import Client

from fibe_access.accounts.models import User
from fibe_access.resources.models import Playspec
from keys.models import ApiKey, Confirmation
from tests.e2e.conftest import Person
from tests.e2e.test_responsive import DEVICES, Looker
from tests.support.factories import api_key_make, resource_make

from .helpers import url_path

pytestmark = pytest.mark.e2e


@pytest.fixture(params=list(DEVICES))
def device(request):
    return DEVICES[request.param]


def test_confirmation_pages_fit_and_pass_axe(page, device, transactional_db):
    look = Looker(page, device)
    person = Person(page, "grace@example.com").sign_up_and_enrol()
    user = User.objects.get(email=person.email)
    _, token = api_key_make(user, "playspecs:delete", label="Nightly agent", is_agent=True)
    spec = resource_make(Playspec, user, name="nightly build")
    body = Client(HTTP_AUTHORIZATION=f"Bearer {token}").delete(f"/api/v1/playspecs/{spec.pk}")
    assert body.status_code == 403
    path = url_path(body.json()["confirmation_url"])

    page.goto("/profile/api-keys/")
    if "/verify/" in page.url:
        person.step_up()
        page.wait_for_url(re.compile(r"/profile/api-keys/$"))
    card = page.locator(".key-card", has_text="Nightly agent")
    assert card.get_by_text("Waiting for your approval").is_visible()
    assert card.get_by_role("link", name=re.compile("nightly build")).is_visible()
    look("confirm-key-card")

    card.get_by_role("link", name=re.compile("nightly build")).click()
    page.wait_for_url(re.compile(re.escape(path) + "$"))
    assert page.get_by_text("Delete a playspec “nightly build” (ID", exact=False).is_visible()
    look("confirmation")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(re.compile(re.escape(path) + "$"))
    assert Confirmation.objects.get().status == "approved"
    look("confirmation-approved")

    page.goto("/profile/api-keys/new/")
    look("confirm-api-key-new")
    page.get_by_label("Label").fill("Plain script")
    page.get_by_label(re.compile(r"^Playgrounds: read")).check()
    page.get_by_role("button", name="Create key").click()
    page.wait_for_url(re.compile(r"/token/$"))
    assert ApiKey.objects.get(label="Plain script").confirm_destructive is False  # auto, not agent

    key = ApiKey.objects.get(label="Nightly agent")
    page.goto(f"/profile/api-keys/{key.pk}/confirm-destructive/")
    look("confirm-switch")
    page.get_by_role("button", name="Turn off").click()
    page.wait_for_url(re.compile(r"/profile/api-keys/$"))
    key.refresh_from_db()
    assert key.confirm_destructive is False
    assert look.problems == [], "\n".join(look.problems)
