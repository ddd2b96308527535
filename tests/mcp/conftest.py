import pytest
from django.core.cache import caches

from tests.reliability.conftest import AppServer, server_env


@pytest.fixture
def app_server(transactional_db, redis_server, tmp_path, settings):
    """Factory: the project under gunicorn against the test database and a private Redis,
    which this process shares as its cache (key services publish key changes there)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server.url,
        }
    }
    caches["default"].clear()
    servers = []

    def start(**extra_env) -> AppServer:
        server = AppServer(
            env=server_env(redis_server.url, **extra_env),
            log=tmp_path / f"gunicorn{len(servers)}.log",
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
