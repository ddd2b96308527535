"""Clients: metadata documents fetched only from public addresses, registration rate-limited
per address, unused registrations pruned; grants revoked with the account."""

import json
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


@pytest.fixture
def cimd(cimd_host, tls, settings):
    settings.OAUTH_CIMD_ALLOW_LOOPBACK = True  # the test's own HTTPS host on loopback
    settings.OAUTH_CIMD_CA_BUNDLE = str(tls / "cert.pem")
    return cimd_host


def _document(client_id, **extra):
    return json.dumps(
        {
            "client_id": client_id,
            "client_name": "Doc app",
            "redirect_uris": [flow.REDIRECT],
            **extra,
        }
    ).encode()


def test_metadata_document_is_fetched_once_and_its_redirect_uris_enforced(stepped_up_client, cimd):
    base, documents = cimd
    client_id = base + "/app.json"
    documents["/app.json"] = _document(client_id)
    _, challenge = flow.pkce()
    page = stepped_up_client.get(flow.authorize_url(client_id, challenge))
    assert page.status_code == 200 and b"Doc app" in page.content
    assert stepped_up_client.get(flow.authorize_url(client_id, challenge)).status_code == 200
    assert documents["fetches"] == ["/app.json"]  # kept, not fetched again
    other = stepped_up_client.get(
        flow.authorize_url(client_id, challenge, redirect_uri="http://127.0.0.1:9/elsewhere")
    )
    assert other.status_code == 400 and "Location" not in other


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (lambda cid: _document(cid, padding="x" * 6000), b"over"),
        (lambda cid: _document("https://someone-else.example/app.json"), b"another client_id"),
        (lambda cid: (302, {"Location": "https://127.0.0.1:1/x"}), b"HTTP 302"),
        (lambda cid: b"not json", b"not JSON"),
    ],
)
def test_a_bad_metadata_document_is_refused(stepped_up_client, cimd, answer, says):
    base, documents = cimd
    client_id = base + "/bad.json"
    documents["/bad.json"] = answer(client_id)
    _, challenge = flow.pkce()
    page = stepped_up_client.get(flow.authorize_url(client_id, challenge))
    assert page.status_code == 400 and says in page.content
    assert OAuthClient.objects.count() == 0
