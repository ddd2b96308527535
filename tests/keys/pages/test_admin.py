import pytest

from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent
from keys import services
from keys.models import ApiKey


@pytest.fixture
def agent_key(user):
    return services.key_create(
        actor=Actor(user=user, source=Source.CLI),
        owner=user,
        label="Genie runtime",
        scope_names=["agents:read"],
        is_agent=True,
    )


def test_admin_lists_and_searches_keys_without_secrets(staff_client, agent_key):
    key, token = agent_key
    for url in [
        "/admin/keys/apikey/",
        f"/admin/keys/apikey/?q={key.last4}",
        f"/admin/keys/apikey/?q={key.owner.email}",
        f"/admin/keys/apikey/{key.pk}/change/",
        "/admin/keys/apikey/?status__exact=active&is_agent__exact=1",
    ]:
        page = staff_client.get(url)
        assert page.status_code == 200, url
        assert b"Genie runtime" in page.content, url
        assert token.encode() not in page.content
        assert key.digest.encode() not in page.content
        assert key.encrypted_token.encode() not in page.content


@pytest.mark.parametrize(
    "action, status, kind",
    [("revoke", "revoked", "key_revoked"), ("expire_now", "expired", "key_expired")],
)
def test_admin_actions_go_through_services_and_are_logged(
    staff_client, agent_key, action, status, kind
):
    key, _ = agent_key
    response = staff_client.post(
        "/admin/keys/apikey/", {"action": action, "_selected_action": [key.pk]}
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.status == status
    event = SecurityEvent.objects.get(user=key.owner, kind=kind)
    assert event.detail["source"] == "admin"


def test_revoked_key_cannot_be_rotated_back(agent_key):
    key, _ = agent_key
    actor = Actor(user=key.owner, source=Source.CLI)
    services.key_revoke(actor=actor, key=key)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.key_rotate(actor=actor, key=key)
    assert ApiKey.objects.get(pk=key.pk).status == "revoked"
