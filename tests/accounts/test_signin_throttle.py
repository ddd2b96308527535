"""Failed sign-ins are throttled per account and per client address (django-axes on the shared
cache), refused before any Argon2 hash, and logged on the owner's security log."""

import re

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from fibe_access.accounts.models import SecurityEvent, User

from ..conftest import PASSWORD, current_totp

LIMIT = 10


def _sign_in(email, password, ip="127.0.0.1"):
    return Client(REMOTE_ADDR=ip).post(
        "/accounts/login/", {"username": email, "password": password}
    )


def test_forty_wrong_passwords_from_fresh_sessions_are_refused_past_the_limit(user, argon2_calls):
    # when 40 wrong passwords arrive for a known account, each from a fresh session
    statuses = [_sign_in(user.email, f"wrong {i}").status_code for i in range(40)]
    # then the first nine are ordinary failures, the tenth locks, and the rest are refused
    assert statuses[: LIMIT - 1] == [200] * (LIMIT - 1)
    assert statuses[LIMIT - 1 :] == [429] * (40 - LIMIT + 1)
    # and only the ten that were checked cost an Argon2 hash
    assert len(argon2_calls) == LIMIT
    refused = _sign_in(user.email, "wrong again")
    assert b"Too many failed sign-ins" in refused.content
    assert b"Reset it by e-mail" in refused.content


def test_the_right_password_is_refused_too_while_locked_and_costs_no_hash(user, argon2_calls):
    for i in range(LIMIT):
        _sign_in(user.email, f"wrong {i}")
    argon2_calls.clear()
    response = _sign_in(user.email, PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in response.wsgi_request.session
    assert argon2_calls == []


def test_unknown_e_mails_cost_one_hash_and_lock_like_known_ones(db, argon2_calls):
    statuses = [_sign_in("nobody@example.com", f"x{i}").status_code for i in range(LIMIT + 2)]
    assert statuses == [200] * (LIMIT - 1) + [429] * 3
    assert len(argon2_calls) == LIMIT  # one hash per checked attempt, as for a real account


@pytest.mark.parametrize("kind", ["known", "unknown", "inactive", "no usable password"])
def test_every_failed_check_costs_exactly_one_hash(db, argon2_calls, kind):
    email = f"{kind.replace(' ', '-')}@example.com"
    if kind != "unknown":
        user = User.objects.create_user(email, PASSWORD, is_active=kind != "inactive")
        if kind == "no usable password":
            user.set_unusable_password()
            user.save()
    argon2_calls.clear()
    response = _sign_in(email, "not the password")
    assert response.status_code == 200
    assert len(argon2_calls) == 1


def test_spellings_of_one_address_count_as_one_account(user, argon2_calls):
    local, domain = user.email.split("@")
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in local)
    spellings = [user.email.upper(), f"{fullwidth}@{domain}", f" {user.email} "]
    for i in range(LIMIT):
        _sign_in(spellings[i % 3], f"wrong {i}")
    assert _sign_in(user.email, PASSWORD).status_code == 429


def test_one_address_is_throttled_across_accounts(db):
    # a password spray: one wrong password for many accounts from one client address
    for i in range(LIMIT):
        _sign_in(f"victim{i}@example.com", "Winter2025!", ip="203.0.113.9")
    assert _sign_in("someone-else@example.com", "x", ip="203.0.113.9").status_code == 429
    assert _sign_in("someone-else@example.com", "x", ip="203.0.113.10").status_code == 200


def test_one_account_is_throttled_across_addresses(user):
    for i in range(LIMIT):
        _sign_in(user.email, f"wrong {i}", ip=f"198.51.100.{i + 1}")
    assert _sign_in(user.email, PASSWORD, ip="198.51.100.200").status_code == 429


def test_failures_and_refusals_are_on_the_security_log_one_row_per_address(user):
    for i in range(LIMIT + 5):
        _sign_in(user.email, f"wrong {i}")
    failed = SecurityEvent.objects.get(user=user, kind=SecurityEvent.Kind.SIGN_IN_FAILED)
    refused = SecurityEvent.objects.get(user=user, kind=SecurityEvent.Kind.SIGN_IN_REFUSED)
    assert (failed.count, refused.count) == (LIMIT, 5)
    assert failed.ip == "127.0.0.1" and refused.last_at is not None


def test_a_good_sign_in_does_not_reset_the_address_count(db):
    # otherwise an attacker could sign in to their own account every nine guesses
    own = User.objects.create_user("mine@example.com", PASSWORD)
    for i in range(LIMIT - 1):
        _sign_in(f"victim{i}@example.com", "guess", ip="203.0.113.7")
    assert _sign_in(own.email, PASSWORD, ip="203.0.113.7").status_code == 302
    assert _sign_in("victim99@example.com", "guess", ip="203.0.113.7").status_code == 429


def test_the_admin_login_is_throttled_too(db, argon2_calls):
    staff = User.objects.create_user("boss@example.com", PASSWORD, is_staff=True)
    device = TOTPDevice.objects.create(user=staff, name="Phone", confirmed=True)

    def admin_login(password):
        return Client().post(
            "/admin/login/?next=/admin/",
            {
                "username": staff.email,
                "password": password,
                "otp_device": device.persistent_id,
                "otp_token": current_totp(device),
            },
        )

    statuses = [admin_login(f"wrong {i}").status_code for i in range(LIMIT + 1)]
    assert statuses[-2:] == [429, 429]
    argon2_calls.clear()
    assert admin_login(PASSWORD).status_code == 429
    assert argon2_calls == []


def test_a_password_reset_lifts_the_accounts_lockout(user, client, mailoutbox):
    for i in range(LIMIT):
        _sign_in(user.email, f"wrong {i}", ip=f"198.51.100.{i + 1}")
    client.post("/accounts/password-reset/", {"email": user.email})
    link = re.search(r"http://testserver(/accounts/password-reset/\S+)", mailoutbox[-1].body)[1]
    form_url = client.get(link)["Location"]
    new = "a brand new passphrase 55"
    client.post(form_url, {"new_password1": new, "new_password2": new})
    assert _sign_in(user.email, new, ip="198.51.100.99").status_code == 302
