"""Sign-up verifies the address with a signed link before the account can receive Fibe's mail
or create keys and webhooks, and never reveals whether an address is registered."""

import re
from datetime import timedelta

import pytest
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from fibe_access.accounts import notices, verification
from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent, User
from keys import services as key_services
from tests.support.factories import api_key_make
from webhooks import services as webhook_services
from webhooks.models import WebhookEndpoint

NEW_PASSWORD = "an unusual passphrase 9"


def _signup(client, email, password=NEW_PASSWORD):
    return client.post(
        "/accounts/signup/", {"email": email, "password1": password, "password2": password}
    )


def _link(mail) -> str:
    return re.search(r"http://testserver(/accounts/verify-email/\S+/)", mail.body)[1]


def _unverified(email="fresh@example.com") -> User:
    user = User.objects.create_user(email, NEW_PASSWORD)
    User.objects.filter(pk=user.pk).update(email_verified_at=None)
    user.refresh_from_db()
    return user


def test_signup_makes_an_unverified_account_and_mails_a_signed_link(client, db, mailoutbox):
    response = _signup(client, "new@example.com")
    assert response.status_code == 302 and response["Location"] == "/accounts/signup/done/"
    user = User.objects.get(email="new@example.com")
    assert not user.email_verified
    assert "_auth_user_id" not in client.session  # nothing is usable before the link
    assert [m.to for m in mailoutbox] == [["new@example.com"]]
    assert SecurityEvent.objects.filter(user=user, kind="signed_up").exists()
    page = client.get("/accounts/signup/done/")
    assert b"Check your inbox" in page.content


def test_following_the_link_verifies_and_leads_to_sign_in_then_enrolment(client, db, mailoutbox):
    _signup(client, "new@example.com")
    response = client.get(_link(mailoutbox[0]))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/profile/totp/"
    user = User.objects.get(email="new@example.com")
    assert user.email_verified
    assert SecurityEvent.objects.filter(user=user, kind="email_verified").count() == 1
    again = client.get(_link(mailoutbox[0]))  # a second visit changes nothing
    assert again.status_code == 302
    assert SecurityEvent.objects.filter(user=user, kind="email_verified").count() == 1


def test_an_expired_link_says_so_and_offers_a_new_one(client, db, mailoutbox, settings):
    _signup(client, "new@example.com")
    settings.EMAIL_VERIFICATION_MAX_AGE = timedelta(seconds=-1)
    response = client.get(_link(mailoutbox[0]))
    assert response.status_code == 410
    assert b"This link has expired" in response.content
    assert b"Send a new link" in response.content
    assert not User.objects.get(email="new@example.com").email_verified


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "x" * 500,
        signing.dumps({"u": 1, "e": "a@example.com"}, salt="another purpose"),
        "%00",
    ],
)
def test_a_forged_or_broken_link_is_a_400_page(client, db, token):
    response = client.get(f"/accounts/verify-email/{token}/")
    assert response.status_code == 400
    assert b"This link is not valid" in response.content


def test_a_link_for_an_address_that_changed_no_longer_verifies(client, db):
    user = _unverified("old@example.com")
    token = verification.link_token(user)
    user.email = "changed@example.com"
    user.save()
    assert client.get(f"/accounts/verify-email/{token}/").status_code == 400
    user.refresh_from_db()
    assert not user.email_verified


def _same_page(client, email):
    response = _signup(client, email)
    return response.status_code, response["Location"]


@pytest.mark.parametrize(
    "spelling",
    [
        "ADA@EXAMPLE.COM",
        "ａｄａ@example.com",  # full-width local part
        "ada@ｅｘａｍｐｌｅ.ｃｏｍ",  # full-width domain
        "ada@EXAMPLE.com ",
        "\u212a\u212ae@example.com",  # KELVIN SIGN, NFKC-equal to K
    ],
)
def test_signup_with_a_registered_address_in_any_spelling_is_refused_without_telling(
    client, db, mailoutbox, spelling
):
    owner = User.objects.create_user(spelling_owner(spelling), "the owner's passphrase 1")
    fresh = _same_page(Client(), "someone.new@example.com")
    mailoutbox.clear()
    # when someone signs up with an address that collides after normalisation
    taken = _same_page(client, spelling)
    # then the page is the one a new address gets, no second account exists, and the owner is
    # told by mail that the address is already in use
    assert taken == fresh
    assert User.objects.filter(email_canonical=owner.email_canonical).count() == 1
    assert [m.to for m in mailoutbox] == [[owner.email]]
    assert "already in use" in mailoutbox[0].body
    assert SecurityEvent.objects.filter(user=owner, kind="sign_up_repeated").exists()


def spelling_owner(spelling: str) -> str:
    return "kke@example.com" if "\u212a" in spelling else "ada@example.com"


def test_a_registered_address_costs_the_same_hash_as_a_new_one(client, db, argon2_calls):
    User.objects.create_user("ada@example.com", "the owner's passphrase 1")
    argon2_calls.clear()
    _signup(client, "new@example.com")
    new_cost = len(argon2_calls)
    argon2_calls.clear()
    _signup(Client(), "ADA@example.com")
    assert len(argon2_calls) == new_cost == 1


def test_the_resend_form_answers_the_same_and_mails_at_most_five_an_hour(client, db, mailoutbox):
    user = _unverified()
    for email in [user.email] * 7 + ["nobody@example.com"]:
        response = client.post("/accounts/verify-email/", {"email": email})
        assert response.status_code == 302
    assert len(mailoutbox) == 5
    state, who = verification.link_read(_link(mailoutbox[-1]).split("/")[-2])
    assert state is verification.LinkState.VALID and who == user


def test_sign_ups_from_one_address_are_limited_before_any_hash(db, argon2_calls, settings):
    settings.ACCOUNT_REQUESTS_PER_IP_HOUR = 3
    client = Client(REMOTE_ADDR="203.0.113.50")
    statuses = [_signup(client, f"u{i}@example.com").status_code for i in range(5)]
    assert statuses == [302, 302, 302, 429, 429]
    assert User.objects.count() == 3 and len(argon2_calls) == 3


def test_operators_accounts_are_trusted_as_verified(db, monkeypatch):
    assert User.objects.create_user("shell@example.com", "pw").email_verified
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "an operator passphrase 7")
    call_command("createsuperuser", "--noinput", "--email", "root@example.com", verbosity=0)
    assert User.objects.get(email="root@example.com").email_verified


def test_an_unverified_account_cannot_create_keys_or_webhooks_on_the_pages(
    db, make_stepped_up_client
):
    user = _unverified()
    client = make_stepped_up_client(user)
    for url in ("/profile/api-keys/new/", "/profile/webhooks/new/"):
        page = client.get(url)
        assert page.status_code == 403, url
        assert b"Verify your e-mail address first" in page.content
    posted = client.post("/profile/api-keys/new/", {"label": "x", "scopes": ["playgrounds:read"]})
    assert posted.status_code == 403
    assert not user.api_keys.exists()


def test_an_unverified_account_cannot_create_keys_or_webhooks_through_the_services(db):
    user = _unverified()
    web = Actor(user=user, source=Source.WEB, stepped_up=True)
    with pytest.raises(PermissionDenied):
        key_services.key_create(actor=web, owner=user, label="x", scope_names=["playgrounds:read"])
    with pytest.raises(PermissionDenied):
        webhook_services.endpoint_create(
            actor=Actor(user=user, source=Source.API),
            url="https://hooks.example.com/x",
            events=["playground.created"],
        )
    assert not user.api_keys.exists() and not WebhookEndpoint.objects.exists()


def test_an_unverified_accounts_api_key_cannot_create_a_webhook(db, api_client):
    user = _unverified()
    _, token = api_key_make(user, "webhooks:write")  # an operator's key: createapikey works
    response = api_client(token).post(
        "/api/v1/webhooks",
        {"url": "https://hooks.example.com/x", "events": ["playground.created"]},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "Verify your e-mail address" in response.json()["message"]


def test_createapikey_works_for_any_active_account_and_refuses_a_deactivated_one(db, capsys):
    user = _unverified()
    call_command("createapikey", user.email, "--label", "CI", "--scope", "playgrounds:read")
    assert capsys.readouterr().out.startswith("fibe_")
    User.objects.filter(pk=user.pk).update(is_active=False)
    with pytest.raises(Exception, match="deactivated"):
        call_command("createapikey", user.email, "--label", "CI", "--scope", "playgrounds:read")


def test_an_unverified_account_receives_no_notices(
    db, mailoutbox, django_capture_on_commit_callbacks
):
    user = _unverified()
    endpoint = WebhookEndpoint.objects.create(
        owner=user, url="https://hooks.example.com/x", events=["playground.created"]
    )
    assert not notices.notice_send(user=user, subject="s", body="b", about="test")
    with django_capture_on_commit_callbacks(execute=True):
        webhook_services.endpoint_disable_system(
            actor=Actor.system(), endpoint=endpoint, reason="The receiver answered 410 Gone."
        )
    assert mailoutbox == []
    User.objects.filter(pk=user.pk).update(email_verified_at=timezone.now())
    user.refresh_from_db()
    assert notices.notice_send(user=user, subject="s", body="b", about="test")
    assert len(mailoutbox) == 1


def test_the_security_page_asks_an_unverified_account_to_verify(db, client):
    user = _unverified()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    assert b'id="verify-email-banner"' in client.get("/profile/security/").content
    user.email_verified_at = timezone.now()
    user.save()
    assert b'id="verify-email-banner"' not in client.get("/profile/security/").content
