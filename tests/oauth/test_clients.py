"""Clients: metadata documents fetched only from public addresses, registration rate-limited
per address, unused registrations pruned; grants revoked with the account."""

from datetime import timedelta

import pytest
from django.test import Client

from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.services import account_delete
from fibe_access.oauth import services
from fibe_access.oauth.models import Grant, OAuthClient

from . import flow

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "client_id",
    [
        "https://127.0.0.1:9/client.json",
        "https://localhost:9/client.json",
        "https://10.1.2.3/client.json",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]:9/client.json",
    ],
)
def test_metadata_document_on_a_private_address_is_refused(stepped_up_client, settings, client_id):
    settings.OAUTH_CIMD_ALLOW_LOOPBACK = False
    _, challenge = flow.pkce()
    answer = stepped_up_client.get(flow.authorize_url(client_id, challenge))
    assert answer.status_code == 400 and "Location" not in answer
    assert b"cannot be fetched" in answer.content or b"address" in answer.content
    assert OAuthClient.objects.count() == 0


def test_registration_is_rate_limited_per_address(settings):
    settings.OAUTH_REGISTRATIONS_PER_HOUR = 2
    flow.register()
    flow.register()
    answer = Client(**flow.HOST).post(
        "/oauth/register",
        '{"client_name": "x", "redirect_uris": ["http://127.0.0.1:1/cb"]}',
        content_type="application/json",
    )
    assert answer.status_code == 429 and answer["Retry-After"]
    assert OAuthClient.objects.count() == 2


def test_unused_registrations_are_pruned(stepped_up_client):
    used, _ = flow.connect(stepped_up_client)
    unused = flow.register()
    assert services.clients_prune(older_than=timedelta(seconds=-1)) == 1
    assert list(OAuthClient.objects.values_list("client_id", flat=True)) == [used]
    assert unused


def test_deleting_the_account_revokes_its_grants(stepped_up_client, user):
    _, tokens = flow.connect(stepped_up_client)
    assert flow.mcp(tokens["access_token"]).status_code == 200
    account_delete(actor=Actor(user=user, source=Source.CLI), user=user)
    assert flow.mcp(tokens["access_token"]).status_code == 401
    assert Grant.objects.count() == 0


def test_revoke_on_the_page_ends_the_grant(stepped_up_client, user):
    _, tokens = flow.connect(stepped_up_client)
    grant = Grant.objects.get()
    page = stepped_up_client.get("/profile/api-keys/")
    assert b"Connected apps" in page.content and b"Test host" in page.content
    assert b"(connected app)" not in page.content  # its key is not listed among the keys
    answer = stepped_up_client.post(f"/oauth/apps/{grant.pk}/revoke/")
    assert answer.status_code == 302
    assert flow.mcp(tokens["access_token"]).status_code == 401
    assert flow.refresh(tokens["refresh_token"], grant.client.client_id).status_code == 400
    assert user.security_events.filter(kind="oauth_revoked").count() == 1
    assert stepped_up_client.get(f"/profile/api-keys/{grant.key_id}/rotate/").status_code == 404
