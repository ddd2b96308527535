"""A NUL byte in any field of any page form is a form error (or a 4xx) and changes nothing."""

import re

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from fibe_access.accounts.models import User
from keys.models import ApiKey
from webhooks.models import Delivery, WebhookEndpoint

from ..conftest import PASSWORD, current_totp

NEW = "a fresh passphrase for nul 8"


def _snapshot():
    return (
        sorted(User.objects.values_list("email", "password", "email_verified_at", "is_active")),
        sorted(ApiKey.objects.values_list("label", "status", "digest")),
        sorted(
            WebhookEndpoint.objects.values_list(
                "url", "secret_encrypted", "description", "is_active"
            )
        ),
        Delivery.objects.count(),
        sorted(TOTPDevice.objects.values_list("confirmed", flat=True)),
    )


def _forms(user, endpoint, reset_path, device):
    code = current_totp(device)
    return {
        "/accounts/signup/": {"email": "new@example.com", "password1": NEW, "password2": NEW},
        "/accounts/login/": {"username": user.email, "password": PASSWORD},
        "/accounts/verify-email/": {"email": user.email},
        "/accounts/password-reset/": {"email": user.email},
        reset_path: {"new_password1": NEW, "new_password2": NEW},
        "/profile/verify/?next=/profile/": {"otp_token": code},
        "/profile/totp/": {"otp_token": code},
        "/profile/password/": {
            "old_password": PASSWORD,
            "new_password1": NEW,
            "new_password2": NEW,
        },
        "/profile/api-keys/new/": {
            "label": "CI",
            "scopes": ["playgrounds:read"],
            "expiry": "date",
            "expires_on": "2099-01-01",
            "is_agent": "on",
        },
        "/profile/webhooks/new/": {
            "url": "http://127.0.0.1:9/hook",
            "events": ["playground.created"],
            "secret": "s3cret",
            "description": "hook",
            "is_active": "on",
        },
        f"/profile/webhooks/{endpoint.pk}/edit/": {
            "url": "http://127.0.0.1:9/other",
            "events": ["playground.created"],
            "secret": "n3w",
            "remove_secret": "on",
            "description": "changed",
            "is_active": "on",
        },
        f"/profile/webhooks/{endpoint.pk}/recover/": {"since": "2020-01-01T00:00"},
        "/profile/delete/": {"email": user.email},
    }


def _variants(data):
    for field, value in data.items():
        values = value if isinstance(value, list) else [value]
        for spot in ("end", "middle", "alone"):
            poisoned = [
                {"end": v + "\x00", "middle": v[:1] + "\x00" + v[1:], "alone": "\x00"}[spot]
                for v in values
            ]
            yield field, {**data, field: poisoned if isinstance(value, list) else poisoned[0]}


@pytest.fixture
def world(user, make_stepped_up_client, mailoutbox):
    endpoint = WebhookEndpoint.objects.create(
        owner=user, url="http://127.0.0.1:9/hook", events=["playground.created"], secret="old"
    )
    client = make_stepped_up_client(user)  # first: signing in changes the reset token
    Client().post("/accounts/password-reset/", {"email": user.email})
    link = re.search(r"http://testserver(/accounts/password-reset/\S+/)", mailoutbox[-1].body)[1]
    reset_client = Client()
    reset_path = reset_client.get(link)["Location"]
    device = TOTPDevice.objects.get(user=user)
    TOTPDevice.objects.create(user=user, name="Second phone", confirmed=False)
    return client, reset_client, _forms(user, endpoint, reset_path, device)


def test_a_nul_byte_in_any_field_of_any_form_is_refused_and_changes_nothing(world):
    client, reset_client, forms = world
    before = _snapshot()
    tried = 0
    for url, data in forms.items():
        if "password-reset/" in url and url.count("/") > 4:
            sender = reset_client
        else:
            sender = client if url.startswith("/profile/") else Client()
        for field, poisoned in _variants(data):
            response = sender.post(url, poisoned)
            tried += 1
            refused = response.status_code >= 400 or b'class="errorlist' in response.content
            if response.status_code == 302:  # a form answered with an error message
                refused = b"msg-error" in sender.get(response["Location"]).content
            assert response.status_code < 500 and refused, (url, field, response.status_code)
            assert _snapshot() == before, (url, field)
        query = "&".join(f"{k}=x%00" for k in [*data, "next", "page"])
        assert client.get(f"{url.split('?')[0]}?{query}").status_code < 500, url
    assert tried >= 96  # every field of 13 forms, three ways each


def test_a_next_carrying_a_nul_byte_is_ignored(user, client):
    response = client.post(
        "/accounts/login/",
        {"username": user.email, "password": PASSWORD, "next": "/profile/\x00evil"},
    )
    assert response.status_code == 302 and "\x00" not in response["Location"]


def test_the_admin_login_refuses_a_nul_byte(db):
    response = Client().post(
        "/admin/login/", {"username": "a\x00@example.com", "password": "x", "otp_token": "1"}
    )
    assert response.status_code == 200 and b"Null characters are not allowed" in response.content
