"""Fixtures shared by every test app: users, enrolled users, stepped-up clients."""

import time

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from fibe_access.accounts import stepup
from fibe_access.accounts.actor import Actor, Source
from tests.support.factories import UserFactory

pytest_plugins = [
    "tests.support.fixtures",  # real servers: receiver, private Redis, Celery workers
    "tests.support.throttles",  # sign-in throttle counters cleared before each test
    "tests.support.browser",  # one Chromium for the session, a page per test
]

PASSWORD = "correct horse battery staple 42"


def current_totp(device: TOTPDevice, *, offset: int = 0) -> str:
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset)
    return f"{code:06d}"


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def totp_device(user):
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def _login(client: Client, user) -> Client:
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _step_up(client: Client, device=None) -> Client:
    session = client.session
    session[stepup.SESSION_KEY] = time.time()
    if device is not None:
        session["otp_device_id"] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def logged_in_client(user):
    return _login(Client(), user)


@pytest.fixture
def stepped_up_client(user, totp_device):
    """A signed-in client that passed a step-up just now."""
    return _step_up(_login(Client(), user), totp_device)


@pytest.fixture
def make_stepped_up_client(db):
    """Factory: a stepped-up client for any user (enrolling a device if needed)."""

    def make(for_user):
        device = TOTPDevice.objects.filter(
            user=for_user, confirmed=True
        ).first() or TOTPDevice.objects.create(
            user=for_user, name="Authenticator app", confirmed=True
        )
        return _step_up(_login(Client(), for_user), device)

    return make


@pytest.fixture
def web_actor(user):
    return Actor(user=user, source=Source.WEB, ip="127.0.0.1", user_agent="pytest", stepped_up=True)


@pytest.fixture
def api_client():
    """Factory: a test client sending ``Authorization: Bearer <token>`` on every request."""

    def make(token: str) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    return make


@pytest.fixture
def staff_client(db):
    """A superuser signed in to the OTP-gated admin with password and a TOTP code."""
    from fibe_access.accounts.models import User

    staff = User.objects.create_user(
        "staff@example.com", PASSWORD, is_staff=True, is_superuser=True
    )
    device = TOTPDevice.objects.create(user=staff, name="Phone", confirmed=True)
    client = Client()
    client.post(
        "/admin/login/?next=/admin/",
        {
            "username": staff.email,
            "password": PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": current_totp(device),
        },
    )
    assert client.get("/admin/").status_code == 200
    return client
