"""One step-up code fired many times at once passes once: step_up_verify locks the devices as
django-otp's verify_token does (a transaction and ``for_verify=True``)."""

import threading

import pytest
from django.db import connection
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from fibe_access.accounts import services
from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent
from tests.support.factories import UserFactory

from ..conftest import current_totp

THREADS = 8


def _fire_at_once(user, code) -> list:
    barrier = threading.Barrier(THREADS)
    results = []

    def attempt():
        try:
            barrier.wait(timeout=10)
            device = services.step_up_verify(
                actor=Actor(user=user, source=Source.WEB, ip="127.0.0.1"), user=user, token=code
            )
            results.append(device is not None)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == THREADS
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(5))
def test_one_totp_code_fired_concurrently_passes_once(round_):
    user = UserFactory()
    device = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    results = _fire_at_once(user, current_totp(device))
    assert results.count(True) == 1
    assert SecurityEvent.objects.filter(user=user, kind="step_up_passed").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(5))
def test_one_backup_code_fired_concurrently_passes_once(round_):
    user = UserFactory()
    TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    static = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    static.token_set.create(token="abcd1234")
    results = _fire_at_once(user, "abcd1234")
    assert results.count(True) == 1
    assert not static.token_set.exists()
