import re

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from fibe_access.accounts.models import SecurityEvent, User

from ..conftest import PASSWORD, current_totp


def _signup(client, email="new@example.com", password="an unusual passphrase 9"):
    return client.post(
        "/accounts/signup/", {"email": email, "password1": password, "password2": password}
    )


def test_signup_stores_an_argon2_hash_and_logs(client, db):
    response = _signup(client)
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert identify_hasher(user.password).algorithm == "argon2"
    assert SecurityEvent.objects.filter(user=user, kind="signed_up").exists()


@pytest.mark.parametrize(
    "password, message",
    [
        ("short", b"too short"),
        ("password123", b"too common"),
        ("12345678901234", b"entirely numeric"),
    ],
)
def test_signup_applies_djangos_password_validators(client, db, password, message):
    response = _signup(client, password=password)
    assert response.status_code == 200
    assert message in response.content
    assert not User.objects.exists()


def test_signup_refuses_a_taken_email_case_insensitively_without_saying_so(client, user):
    response = _signup(client, email=user.email.upper())
    assert response.status_code == 302 and response["Location"] == "/accounts/signup/done/"
    assert User.objects.count() == 1


def test_hostile_signup_values_are_refused_and_escaped(client, db):
    response = _signup(client, email="<script>alert(1)</script>@x.com")
    assert response.status_code == 200
    assert b"<script>alert(1)</script>" not in response.content
    assert not User.objects.exists()


def test_login_logs_the_sign_in_with_ip_and_user_agent(client, user):
    response = client.post(
        "/accounts/login/",
        {"username": user.email, "password": PASSWORD},
        HTTP_USER_AGENT="pytest-browser/1.0",
    )
    assert response.status_code == 302
    event = SecurityEvent.objects.get(user=user, kind="signed_in")
    assert event.ip == "127.0.0.1"
    assert event.user_agent == "pytest-browser/1.0"


def test_enrolment_shows_secret_and_qr_and_needs_a_code(logged_in_client, user):
    page = logged_in_client.get("/profile/totp/")
    secret = re.search(rb'id="totp-secret"[^>]*>([A-Z2-7]+)<', page.content).group(1)
    assert b"<svg" in page.content
    device = TOTPDevice.objects.get(user=user)
    assert not device.confirmed
    from base64 import b32decode

    assert b32decode(secret + b"=" * (-len(secret) % 8)) == device.bin_key

    wrong = logged_in_client.post("/profile/totp/", {"otp_token": "123456"})
    assert wrong.status_code == 200
    device.refresh_from_db()
    assert not device.confirmed

    ok = logged_in_client.post("/profile/totp/", {"otp_token": current_totp(device)})
    assert ok.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert SecurityEvent.objects.filter(user=user, kind="device_added").exists()


def test_backup_codes_are_ten_single_use_and_shown_once(logged_in_client, user):
    logged_in_client.get("/profile/totp/")
    device = TOTPDevice.objects.get(user=user)
    response = logged_in_client.post("/profile/totp/", {"otp_token": current_totp(device)})
    page = logged_in_client.get(response["Location"])
    codes = re.findall(rb"<span>([0-9a-f]{8})</span>", page.content)
    assert len(codes) == 10
    assert StaticDevice.objects.get(user=user).token_set.count() == 10
    again = logged_in_client.get("/profile/backup-codes/")
    assert again.status_code == 302
    for code in codes:
        assert code not in logged_in_client.get(again["Location"]).content


def test_regenerating_backup_codes_replaces_the_old_ones(stepped_up_client, user):
    static = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    static.token_set.create(token="old00001")
    response = stepped_up_client.post("/profile/backup-codes/new/")
    assert response.status_code == 302
    assert not static.token_set.filter(token="old00001").exists()
    assert static.token_set.count() == 10
    assert SecurityEvent.objects.filter(user=user, kind="backup_codes_generated").exists()


def test_removing_a_device_needs_step_up_and_logs(stepped_up_client, user, totp_device):
    response = stepped_up_client.post(f"/profile/devices/{totp_device.pk}/remove/")
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=totp_device.pk).exists()
    assert SecurityEvent.objects.filter(user=user, kind="device_removed").exists()


def test_cannot_remove_another_accounts_device(stepped_up_client, other_user):
    theirs = TOTPDevice.objects.create(user=other_user, name="Theirs", confirmed=True)
    response = stepped_up_client.post(f"/profile/devices/{theirs.pk}/remove/")
    assert response.status_code == 404
    assert TOTPDevice.objects.filter(pk=theirs.pk).exists()


def test_account_deletion_needs_the_email_and_deletes_everything(stepped_up_client, user):
    wrong = stepped_up_client.post("/profile/delete/", {"email": "someone@else.com"})
    assert wrong.status_code == 200
    assert User.objects.filter(pk=user.pk).exists()
    response = stepped_up_client.post("/profile/delete/", {"email": user.email})
    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    assert not TOTPDevice.objects.filter(user_id=user.pk).exists()
    assert SecurityEvent.objects.filter(kind="account_deleted", detail__user_id=user.pk).exists()


def test_security_page_lists_the_log(logged_in_client, user):
    SecurityEvent.objects.create(user=user, kind="signed_in", ip="203.0.113.9", user_agent="curl/8")
    page = logged_in_client.get("/profile/security/")
    assert b"Signed in" in page.content
    assert b"203.0.113.9" in page.content


def test_security_log_shows_only_own_events(logged_in_client, other_user):
    SecurityEvent.objects.create(user=other_user, kind="signed_in", ip="198.51.100.77")
    page = logged_in_client.get("/profile/security/")
    assert b"198.51.100.77" not in page.content


def test_admin_refuses_an_unverified_staff_user(db):
    staff = User.objects.create_user(
        "staff@example.com", PASSWORD, is_staff=True, is_superuser=True
    )
    client = Client()
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    # a password alone at the admin's own sign-in does not get in either
    login = client.post(
        "/admin/login/?next=/admin/", {"username": staff.email, "password": PASSWORD}
    )
    assert login.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_admin_admits_a_staff_user_with_a_verified_device(db):
    staff = User.objects.create_user(
        "staff@example.com", PASSWORD, is_staff=True, is_superuser=True
    )
    device = TOTPDevice.objects.create(user=staff, name="Phone", confirmed=True)
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/",
        {
            "username": staff.email,
            "password": PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": current_totp(device),
        },
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_failed_sign_in_is_logged_for_the_account_owner(client, user):
    response = client.post("/accounts/login/", {"username": user.email, "password": "wrong"})
    assert response.status_code == 200
    assert (
        b"correct e-mail address and password" in response.content
        or b"Please enter" in response.content
    )
    assert SecurityEvent.objects.filter(user=user, kind="sign_in_failed").count() == 1


def test_failed_sign_in_for_an_unknown_email_writes_nothing(client, db):
    client.post("/accounts/login/", {"username": "nobody@example.com", "password": "x"})
    assert not SecurityEvent.objects.exists()


def test_huge_passwords_are_refused_before_hashing(client, user):
    huge = "x" * 100_000
    signup = _signup(client, email="huge@example.com", password=huge)
    assert signup.status_code == 200
    assert b"at most 1024 characters" in signup.content
    assert not User.objects.filter(email="huge@example.com").exists()
    login = client.post("/accounts/login/", {"username": user.email, "password": huge})
    assert login.status_code == 200
    assert b"at most 1024 characters" in login.content
