"""The key pages for rotation with an overlap, "Stop it now" and IP allow-lists."""

import re

import pytest

from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent
from keys import services, tokens
from keys.models import ApiKey


def _create(user, **kw):
    kw.setdefault("label", "CI")
    kw.setdefault("scope_names", ["playgrounds:read"])
    return services.key_create(actor=Actor(user=user, source=Source.CLI), owner=user, **kw)


def test_rotate_page_offers_the_overlaps_with_now_the_default(stepped_up_client, user):
    key, _ = _create(user)
    page = stepped_up_client.get(f"/profile/api-keys/{key.pk}/rotate/").content.decode()
    for value in ("now", "1h", "24h", "7d"):
        assert f'value="{value}"' in page
    assert re.search(r'value="now"[^>]*checked', page)
    assert "When should the old token stop working?" in page


def test_rotating_with_an_overlap_shows_the_new_token_and_the_old_ones_end(
    stepped_up_client, user, api_client
):
    key, old = _create(user)
    response = stepped_up_client.post(f"/profile/api-keys/{key.pk}/rotate/", {"overlap": "1h"})
    page = stepped_up_client.get(response["Location"])
    new = re.search(rb'id="new-token"[^>]*>([^<]+)<', page.content).group(1).decode()
    assert tokens.is_well_formed(new) and new != old
    assert api_client(old).get("/api/v1/me").status_code == 200
    assert api_client(new).get("/api/v1/me").status_code == 200
    card = stepped_up_client.get("/profile/api-keys/").content.decode()
    assert f"fibe_…{old[-4:]}</span> stops" in card and "in 59\xa0minutes" in card
    assert f"/profile/api-keys/{key.pk}/stop-old-token/" in card
    # Stop it now: a confirm page, then the old token fails at once
    assert (
        b"Stop it now"
        in stepped_up_client.get(f"/profile/api-keys/{key.pk}/stop-old-token/").content
    )
    stepped_up_client.post(f"/profile/api-keys/{key.pk}/stop-old-token/")
    assert api_client(old).get("/api/v1/me").status_code == 401
    assert api_client(new).get("/api/v1/me").status_code == 200
    assert "stops" not in stepped_up_client.get("/profile/api-keys/").content.decode()


def test_an_unknown_overlap_is_an_error_on_the_page(stepped_up_client, user):
    key, _ = _create(user)
    response = stepped_up_client.post(f"/profile/api-keys/{key.pk}/rotate/", {"overlap": "1y"})
    assert response.status_code == 200 and b"Select a valid choice" in response.content
    assert ApiKey.objects.get(pk=key.pk).digest == key.digest


def test_new_key_with_allowed_ips(stepped_up_client, user, api_client):
    payload = {"label": "Office", "scopes": ["playgrounds:read"], "expiry": "30"}
    payload["allowed_ips"] = "10.0.0.0/8\n2001:db8::/32"
    response = stepped_up_client.post("/profile/api-keys/new/", payload)
    assert response.status_code == 302
    key = ApiKey.objects.get(owner=user)
    assert key.allowed_ips == ["10.0.0.0/8", "2001:db8::/32"]
    card = stepped_up_client.get("/profile/api-keys/").content.decode()
    assert "10.0.0.0/8" in card and "2001:db8::/32" in card


def test_new_key_with_a_bad_cidr_is_refused_with_a_message(stepped_up_client, user):
    payload = {"label": "Office", "scopes": ["playgrounds:read"], "expiry": "30"}
    payload["allowed_ips"] = "10.0.0.0/8\n10.0.0.300"
    response = stepped_up_client.post("/profile/api-keys/new/", payload)
    assert response.status_code == 200
    assert "is not an IP address or CIDR" in response.content.decode()
    assert not ApiKey.objects.filter(owner=user).exists()


def test_changing_allowed_ips_on_the_card(stepped_up_client, user, api_client):
    key, token = _create(user)
    page = stepped_up_client.get(f"/profile/api-keys/{key.pk}/allowed-ips/")
    assert b'<label for="id_allowed_ips">' in page.content
    stepped_up_client.post(
        f"/profile/api-keys/{key.pk}/allowed-ips/", {"allowed_ips": "10.0.0.0/8"}
    )
    response = api_client(token).get("/api/v1/me", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 403 and response.json()["code"] == "ip_not_allowed"
    assert SecurityEvent.objects.filter(user=user, kind="key_allowed_ips_changed").exists()


@pytest.mark.parametrize("path", ["rotate/", "stop-old-token/", "allowed-ips/"])
def test_the_new_pages_need_a_step_up(logged_in_client, user, totp_device, path):
    key, _ = _create(user)
    response = logged_in_client.post(f"/profile/api-keys/{key.pk}/{path}", {"overlap": "1h"})
    assert response.status_code == 302 and "/profile/verify/" in response["Location"]
    assert ApiKey.objects.get(pk=key.pk).digest == key.digest


@pytest.mark.parametrize("path", ["rotate/", "stop-old-token/", "allowed-ips/"])
def test_another_accounts_key_is_404(make_stepped_up_client, other_user, user, path):
    key, _ = _create(user)
    client = make_stepped_up_client(other_user)
    assert client.post(f"/profile/api-keys/{key.pk}/{path}", {"overlap": "1h"}).status_code == 404


def test_max_lifetime_hides_no_expiry_on_the_new_key_page(stepped_up_client, user):
    user.key_max_lifetime_days = 30
    user.save(update_fields=["key_max_lifetime_days"])
    page = stepped_up_client.get("/profile/api-keys/new/").content.decode()
    assert 'value="none"' not in page and 'value="90"' not in page
    assert "within 30 days" in page


def test_the_key_policy_page_sets_both_policies_behind_the_step_up(stepped_up_client, user):
    page = stepped_up_client.get("/profile/api-key-policy/").content.decode()
    assert (
        '<label for="id_inactivity_days">' in page and '<label for="id_max_lifetime_days">' in page
    )
    response = stepped_up_client.post(
        "/profile/api-key-policy/",
        {
            "inactivity_on": "on",
            "inactivity_days": "45",
            "lifetime_on": "on",
            "max_lifetime_days": "60",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.key_inactivity_days, user.key_max_lifetime_days) == (45, 60)
    assert SecurityEvent.objects.filter(user=user, kind="key_policy_changed").exists()
    stepped_up_client.post("/profile/api-key-policy/", {"inactivity_days": "45"})
    user.refresh_from_db()
    assert (user.key_inactivity_days, user.key_max_lifetime_days) == (None, None)


@pytest.mark.parametrize("days", ["29", "366", "-1", "x"])
def test_inactivity_days_out_of_range_are_refused(stepped_up_client, user, days):
    response = stepped_up_client.post(
        "/profile/api-key-policy/", {"inactivity_on": "on", "inactivity_days": days}
    )
    assert response.status_code == 200 and b"field-error" in response.content
    user.refresh_from_db()
    assert user.key_inactivity_days is None


def test_the_key_policy_page_needs_a_step_up(logged_in_client, user, totp_device):
    response = logged_in_client.post(
        "/profile/api-key-policy/", {"inactivity_on": "on", "inactivity_days": "30"}
    )
    assert response.status_code == 302 and "/profile/verify/" in response["Location"]
    user.refresh_from_db()
    assert user.key_inactivity_days is None
