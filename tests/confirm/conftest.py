"""One gunicorn for the live confirmation tests (MCP SDK client, the CLI, Playwright), on the
test database and a private Redis, stopped after them."""

import os

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.support.appserver import AppServer, server_env
from tests.support.factories import UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop on this thread

PASSWORD = "correct horse battery staple 42"  # UserFactory's


@pytest.fixture(scope="package")
def confirm_server(django_db_setup, django_db_blocker, redis_server, tmp_path_factory):
    with django_db_blocker.unblock():
        env = server_env(redis_server.url, DATABASE_CONN_MAX_AGE_SECONDS=0, API_KEY_CACHE_SECONDS=0)
    server = AppServer(
        env=env, log=tmp_path_factory.mktemp("confirm") / "gunicorn.log", workers=2, threads=4
    )
    yield server
    server.stop()


class Owner:
    """A person with a password and a TOTP authenticator, driven in the browser."""

    def __init__(self):
        self.user = UserFactory()
        self.device = TOTPDevice.objects.create(user=self.user, name="Phone", confirmed=True)
        self._drift = 0

    def next_code(self) -> str:
        code = totp(self.device.bin_key, drift=self._drift)  # each code works once
        self._drift += 1
        return f"{code:06d}"


@pytest.fixture
def owner(transactional_db):
    return Owner()
