"""Password change (after a step-up), reset by e-mail and "sign out everywhere else": each is
logged and ends the other sessions."""

import re

from django.test import Client

from fibe_access.accounts.models import SecurityEvent, User

from ..conftest import PASSWORD

NEW = "a completely new passphrase 31"


def _signed_in(user, password=PASSWORD) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": user.email, "password": password})
    assert response.status_code == 302
    return client


def _is_signed_in(client) -> bool:
    return client.get("/profile/security/").status_code == 200


def test_changing_the_password_ends_every_other_session_and_keeps_this_one(
    user, make_stepped_up_client, mailoutbox, django_capture_on_commit_callbacks
):
    other = _signed_in(user)
    client = make_stepped_up_client(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/profile/password/",
            {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
        )
    assert response.status_code == 302
    assert _is_signed_in(client)
    assert not _is_signed_in(other)
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert SecurityEvent.objects.filter(user=user, kind="password_changed").exists()
    assert mailoutbox[-1].subject == "Your Fibe password was changed"


def test_changing_the_password_needs_the_old_one(user, make_stepped_up_client):
    client = make_stepped_up_client(user)
    response = client.post(
        "/profile/password/", {"old_password": "nope", "new_password1": NEW, "new_password2": NEW}
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not SecurityEvent.objects.filter(user=user, kind="password_changed").exists()


def test_changing_the_password_needs_a_step_up(user, logged_in_client, totp_device):
    response = logged_in_client.post(
        "/profile/password/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )
    assert response["Location"].startswith("/profile/verify/")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def _reset_link(mail) -> str:
    return re.search(r"http://testserver(/accounts/password-reset/\S+/)", mail.body)[1]


def test_a_reset_by_e_mail_sets_the_password_and_ends_every_session(user, client, mailoutbox):
    other = _signed_in(user)
    response = client.post("/accounts/password-reset/", {"email": user.email.upper()})
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert [m.to for m in mailoutbox] == [[user.email]]
    form = client.get(_reset_link(mailoutbox[0]))["Location"]
    done = client.post(form, {"new_password1": NEW, "new_password2": NEW})
    assert done["Location"] == "/accounts/password-reset/done/"
    assert not _is_signed_in(other)
    assert _signed_in(user, NEW)
    kinds = set(SecurityEvent.objects.filter(user=user).values_list("kind", flat=True))
    assert {"password_reset_requested", "password_reset"} <= kinds
    # the link works once
    assert b"This link is not valid" in client.get(_reset_link(mailoutbox[0])).content


def test_a_reset_for_an_unknown_address_looks_the_same_and_mails_nothing(db, client, mailoutbox):
    response = client.post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert mailoutbox == []


def test_reset_mail_to_one_address_is_rate_limited(user, mailoutbox):
    for i in range(8):
        Client(REMOTE_ADDR=f"192.0.2.{i + 1}").post(
            "/accounts/password-reset/", {"email": user.email}
        )
    assert len(mailoutbox) == 5


def test_a_reset_verifies_an_unverified_address(db, client, mailoutbox):
    user = User.objects.create_user("late@example.com", PASSWORD)
    User.objects.filter(pk=user.pk).update(email_verified_at=None)
    client.post("/accounts/password-reset/", {"email": user.email})
    form = client.get(_reset_link(mailoutbox[0]))["Location"]
    client.post(form, {"new_password1": NEW, "new_password2": NEW})
    user.refresh_from_db()
    assert user.email_verified


def test_sign_out_everywhere_else_ends_other_sessions_and_keeps_this_one(
    user, make_stepped_up_client
):
    others = [_signed_in(user), _signed_in(user)]
    client = make_stepped_up_client(user)
    assert client.get("/profile/sessions/sign-out/").status_code == 200  # a confirmation first
    assert all(_is_signed_in(c) for c in others)
    response = client.post("/profile/sessions/sign-out/")
    assert response.status_code == 302
    assert _is_signed_in(client)
    assert not any(_is_signed_in(c) for c in others)
    assert SecurityEvent.objects.filter(user=user, kind="signed_out_everywhere").count() == 1
    # and signing in again works as before
    assert _is_signed_in(_signed_in(user))
