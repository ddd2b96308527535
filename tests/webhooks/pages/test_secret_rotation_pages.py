"""The endpoint page's secret rotation: overlap choices (24 h by default), the new secret shown
once, the overlap shown with "End now"."""

import re

import pytest

from tests.support.fixtures import SECRET
from webhooks.models import WebhookEndpoint


@pytest.fixture
def endpoint(make_endpoint):
    return make_endpoint("https://example.com/hook")


def test_rotate_page_defaults_to_a_24_hour_overlap(stepped_up_client, endpoint):
    page = stepped_up_client.get(f"/profile/webhooks/{endpoint.pk}/secret/rotate/").content
    page = page.decode()
    assert re.search(r'value="24h"[^>]*checked', page)
    assert '<label for="id_new_secret">' in page


def test_rotating_shows_the_new_secret_once_and_the_overlap(stepped_up_client, endpoint):
    response = stepped_up_client.post(
        f"/profile/webhooks/{endpoint.pk}/secret/rotate/", {"overlap": "24h", "new_secret": ""}
    )
    assert response.status_code == 302
    page = stepped_up_client.get(response["Location"]).content.decode()
    new = re.search(r'id="new-secret"[^>]*>([^<]+)<', page).group(1)
    endpoint.refresh_from_db()
    assert endpoint.secret == new and endpoint.signing_secrets() == [new, SECRET]
    assert "The old secret still signs every delivery" in page and "in 23" in page
    again = stepped_up_client.get(response["Location"]).content.decode()
    assert new not in again
    # End now
    end = f"/profile/webhooks/{endpoint.pk}/secret/end-overlap/"
    assert b"End now" in stepped_up_client.get(end).content
    stepped_up_client.post(end)
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == [new]


def test_a_bad_new_secret_is_an_error_and_changes_nothing(stepped_up_client, endpoint):
    response = stepped_up_client.post(
        f"/profile/webhooks/{endpoint.pk}/secret/rotate/", {"overlap": "24h", "new_secret": SECRET}
    )
    assert response.status_code == 200 and b"must differ" in response.content
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).signing_secrets() == [SECRET]


def test_another_accounts_endpoint_is_404(make_stepped_up_client, other_user, endpoint):
    client = make_stepped_up_client(other_user)
    for path in ("secret/rotate/", "secret/end-overlap/"):
        response = client.post(f"/profile/webhooks/{endpoint.pk}/{path}", {"overlap": "now"})
        assert response.status_code == 404
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).signing_secrets() == [SECRET]


def test_a_secret_no_key_opens_is_a_message_not_a_500(stepped_up_client, endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret_encrypted="v2:00000000:AAAA")
    for path in ("", "edit/"):
        page = stepped_up_client.get(f"/profile/webhooks/{endpoint.pk}/{path}")
        assert page.status_code == 200
        assert b"sealed with a key this server no longer has" in page.content
