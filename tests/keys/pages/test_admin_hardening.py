"""Admin actions declare their permissions; deleting a key, a user or an endpoint in the admin
goes through the services (audited, keys revoked, caches told)."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from fibe_access.accounts.models import SecurityEvent, User
from keys import cache
from keys.models import ApiKey
from tests.conftest import PASSWORD, current_totp
from tests.support.factories import api_key_make
from webhooks.models import WebhookEndpoint


def _admin(email, *perms) -> Client:
    staff = User.objects.create_user(email, PASSWORD, is_staff=True)
    for codename in perms:
        staff.user_permissions.add(Permission.objects.get(codename=codename))
    device = TOTPDevice.objects.create(user=staff, name="Phone", confirmed=True)
    client = Client()
    client.post(
        "/admin/login/?next=/admin/",
        {
            "username": email,
            "password": PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": current_totp(device),
        },
    )
    return client


@pytest.mark.parametrize("action", ["revoke", "expire_now"])
def test_a_viewer_cannot_run_key_actions(user, action):
    key, _ = api_key_make(user, "playgrounds:read")
    viewer = _admin("viewer@example.com", "view_apikey")
    listing = viewer.get("/admin/keys/apikey/")
    assert listing.status_code == 200 and f'value="{action}"'.encode() not in listing.content
    viewer.post("/admin/keys/apikey/", {"action": action, "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.status == ApiKey.Status.ACTIVE


def test_a_viewer_cannot_redeliver(user):
    viewer = _admin("viewer@example.com", "view_delivery")
    assert b'value="redeliver"' not in viewer.get("/admin/webhooks/delivery/").content


def test_deleting_a_key_in_the_admin_goes_through_the_service(staff_client, user, monkeypatch):
    key, token = api_key_make(user, "playgrounds:read")
    told = []
    monkeypatch.setattr(cache, "change_begin", lambda digest: told.append(digest))
    response = staff_client.post(f"/admin/keys/apikey/{key.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ApiKey.objects.filter(pk=key.pk).exists()
    assert told == [key.digest]
    event = SecurityEvent.objects.get(user=user, kind="key_deleted")
    assert event.detail["source"] == "admin"


def test_bulk_deleting_keys_in_the_admin_goes_through_the_service(staff_client, user):
    keys = [api_key_make(user, "playgrounds:read")[0] for _ in range(3)]
    staff_client.post(
        "/admin/keys/apikey/",
        {"action": "delete_selected", "_selected_action": [k.pk for k in keys], "post": "yes"},
    )
    assert not ApiKey.objects.filter(owner=user).exists()
    assert SecurityEvent.objects.filter(user=user, kind="key_deleted").count() == 3


def test_deleting_a_user_in_the_admin_revokes_their_keys_through_the_service(
    staff_client, user, api_client, monkeypatch
):
    _, token = api_key_make(user, "playgrounds:read")
    assert api_client(token).get("/api/v1/me").status_code == 200
    revoked = []
    original = cache.change_begin
    monkeypatch.setattr(
        cache, "change_begin", lambda digest: (revoked.append(digest), original(digest))
    )
    response = staff_client.post(f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    assert len(revoked) == 1
    assert SecurityEvent.objects.filter(kind="account_deleted", detail__user_id=user.pk).exists()
    assert api_client(token).get("/api/v1/me").status_code == 401


def test_bulk_deleting_users_in_the_admin_goes_through_the_service(staff_client, user, other_user):
    staff_client.post(
        "/admin/accounts/user/",
        {
            "action": "delete_selected",
            "_selected_action": [user.pk, other_user.pk],
            "post": "yes",
        },
    )
    assert not User.objects.filter(pk__in=[user.pk, other_user.pk]).exists()
    assert SecurityEvent.objects.filter(kind="account_deleted").count() == 2


def test_deleting_an_endpoint_in_the_admin_is_audited(staff_client, user):
    endpoint = WebhookEndpoint.objects.create(
        owner=user, url="https://hooks.example.com/x", events=["playground.created"]
    )
    staff_client.post(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/delete/", {"post": "yes"})
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert SecurityEvent.objects.get(user=user, kind="webhook_deleted").detail["source"] == "admin"
