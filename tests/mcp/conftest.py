"""One gunicorn for the live MCP tests (the project on a free loopback port, on the test
database and a private Redis), stopped after them; each test's rows are committed
(transactional_db) and every request opens its own database connection."""

import pytest

from tests.support.appserver import AppServer, server_env

ALLOWED_ORIGIN = "https://app.example.com"


@pytest.fixture(scope="package")
def mcp_server(django_db_setup, django_db_blocker, redis_server, tmp_path_factory):
    with django_db_blocker.unblock():
        env = server_env(
            redis_server.url,
            DATABASE_CONN_MAX_AGE_SECONDS=0,
            API_KEY_CACHE_SECONDS=0,
            MCP_ALLOWED_ORIGINS=ALLOWED_ORIGIN,
        )
    server = AppServer(
        env=env, log=tmp_path_factory.mktemp("mcp") / "gunicorn.log", workers=2, threads=4
    )
    yield server
    server.stop()


@pytest.fixture
def site(mcp_server, transactional_db):
    """The server's /mcp URL."""
    return mcp_server.url + "/mcp"
