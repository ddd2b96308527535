import time

import pytest
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from fibe_access.accounts import stepup
from fibe_access.accounts.models import SecurityEvent

from ..conftest import current_totp

GUARDED = "/profile/api-keys/"


def test_no_recent_step_up_redirects_to_verify_with_next(logged_in_client, totp_device):
    response = logged_in_client.get(GUARDED)
    assert response.status_code == 302
    assert response["Location"] == "/profile/verify/?next=%2Fprofile%2Fapi-keys%2F"


def test_user_without_device_is_sent_to_enrol_first(logged_in_client):
    response = logged_in_client.get(GUARDED)
    assert response.status_code == 302
    assert response["Location"].startswith("/profile/totp/?next=")


def test_anonymous_user_is_sent_to_sign_in(client, db):
    response = client.get(GUARDED)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_correct_totp_passes_and_returns_to_next(logged_in_client, totp_device, user):
    response = logged_in_client.post(
        "/profile/verify/", {"otp_token": current_totp(totp_device), "next": GUARDED}
    )
    assert response.status_code == 302
    assert response["Location"] == GUARDED
    assert logged_in_client.get(GUARDED).status_code == 200
    assert SecurityEvent.objects.filter(user=user, kind="step_up_passed").count() == 1


def test_totp_code_works_only_once(logged_in_client, totp_device, user):
    code = current_totp(totp_device)
    assert logged_in_client.post("/profile/verify/", {"otp_token": code}).status_code == 302
    logged_in_client.session.pop(stepup.SESSION_KEY, None)
    session = logged_in_client.session
    del session[stepup.SESSION_KEY]
    session.save()
    # The throttle from no earlier failure does not apply; the code itself is spent.
    response = logged_in_client.post("/profile/verify/", {"otp_token": code})
    assert response.status_code == 200
    assert b"not valid" in response.content
    assert logged_in_client.get(GUARDED).status_code == 302


def test_wrong_code_is_refused_logged_and_counted_for_throttling(
    logged_in_client, totp_device, user
):
    response = logged_in_client.post("/profile/verify/", {"otp_token": "000000"})
    assert response.status_code == 200
    assert b"not valid" in response.content
    totp_device.refresh_from_db()
    assert totp_device.throttling_failure_count == 1
    assert SecurityEvent.objects.filter(user=user, kind="step_up_failed").count() == 1
    assert logged_in_client.get(GUARDED).status_code == 302


def test_throttled_device_refuses_even_the_right_code(logged_in_client, totp_device):
    for _ in range(3):
        logged_in_client.post("/profile/verify/", {"otp_token": "000000"})
    response = logged_in_client.post("/profile/verify/", {"otp_token": current_totp(totp_device)})
    assert response.status_code == 200
    assert b"Too many wrong codes" in response.content
    assert logged_in_client.get(GUARDED).status_code == 302


def test_window_elapsed_asks_again(stepped_up_client, settings):
    assert stepped_up_client.get(GUARDED).status_code == 200
    session = stepped_up_client.session
    session[stepup.SESSION_KEY] = time.time() - settings.STEP_UP_WINDOW.total_seconds() - 1
    session.save()
    response = stepped_up_client.get(GUARDED)
    assert response.status_code == 302
    assert response["Location"].startswith("/profile/verify/")


def test_window_slides_on_each_sensitive_action(stepped_up_client, settings):
    session = stepped_up_client.session
    almost = time.time() - settings.STEP_UP_WINDOW.total_seconds() + 5
    session[stepup.SESSION_KEY] = almost
    session.save()
    assert stepped_up_client.get(GUARDED).status_code == 200
    assert stepped_up_client.session[stepup.SESSION_KEY] > almost + 4


def test_step_up_timestamp_in_the_future_is_not_trusted(stepped_up_client):
    session = stepped_up_client.session
    session[stepup.SESSION_KEY] = time.time() + 3600
    session.save()
    assert stepped_up_client.get(GUARDED).status_code == 302


def test_backup_code_is_accepted_once(logged_in_client, totp_device, user):
    device = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    device.token_set.create(token="abcd1234")
    response = logged_in_client.post("/profile/verify/", {"otp_token": "abcd1234"})
    assert response.status_code == 302
    assert not device.token_set.exists()
    session = logged_in_client.session
    del session[stepup.SESSION_KEY]
    session.save()
    response = logged_in_client.post("/profile/verify/", {"otp_token": "abcd1234"})
    assert response.status_code == 200


def test_logout_ends_the_step_up(stepped_up_client, user):
    assert stepped_up_client.get(GUARDED).status_code == 200
    stepped_up_client.post("/accounts/logout/")
    stepped_up_client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    assert stepped_up_client.get(GUARDED).status_code == 302


def test_logout_needs_post(logged_in_client):
    assert logged_in_client.get("/accounts/logout/").status_code == 405


def test_post_interrupted_by_step_up_is_not_carried_out_and_is_asked_again(
    logged_in_client, totp_device, user
):
    # given an expired step-up, a POST that would regenerate the backup codes
    StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True).token_set.create(
        token="keepme12"
    )
    response = logged_in_client.post("/profile/backup-codes/new/")
    # then nothing happened and the user is sent to step up, back to the same page
    assert response.status_code == 302
    assert response["Location"] == "/profile/verify/?next=%2Fprofile%2Fbackup-codes%2Fnew%2F"
    assert StaticDevice.objects.get(user=user).token_set.filter(token="keepme12").exists()
    # after stepping up the page asks again, with a GET showing the confirmation
    back = logged_in_client.post(
        "/profile/verify/",
        {"otp_token": current_totp(totp_device), "next": "/profile/backup-codes/new/"},
    )
    page = logged_in_client.get(back["Location"])
    assert page.status_code == 200
    assert b"Generate new codes" in page.content


def test_next_cannot_send_the_user_off_site(logged_in_client, totp_device):
    response = logged_in_client.post(
        "/profile/verify/",
        {"otp_token": current_totp(totp_device), "next": "https://evil.example/"},
    )
    assert response["Location"] == "/profile/security/"


def test_services_recheck_the_step_up(user, totp_device):
    from fibe_access.accounts.actor import Actor, Source
    from fibe_access.accounts.services import device_remove

    actor = Actor(user=user, source=Source.WEB, stepped_up=False)
    with pytest.raises(stepup.StepUpRequired):
        device_remove(actor=actor, user=user, device_id=totp_device.pk)
    assert TOTPDevice.objects.filter(pk=totp_device.pk).exists()


def test_csrf_is_enforced_on_verify(user, totp_device):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post("/profile/verify/", {"otp_token": current_totp(totp_device)})
    assert response.status_code == 403
