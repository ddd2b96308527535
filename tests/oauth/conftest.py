"""In-process clients on a loopback host name: Authlib serves OAuth over plain HTTP only on
loopback (RFC 8252), as under ``make run``."""

import pytest

from tests.e2e.conftest import browser, page, person  # noqa: F401 - the browser fixtures

from .flow import HOST


@pytest.fixture
def stepped_up_client(stepped_up_client):
    stepped_up_client.defaults.update(HOST)
    return stepped_up_client


@pytest.fixture
def logged_in_client(logged_in_client):
    logged_in_client.defaults.update(HOST)
    return logged_in_client


@pytest.fixture
def api_client(api_client):
    def make(token):
        client = api_client(token)
        client.defaults.update(HOST)
        return client

    return make
