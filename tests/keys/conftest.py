import pytest

from tests.webhooks.servers import RedisServer


@pytest.fixture
def own_redis(tmp_path, settings):
    """A redis-server of this test's own as the project's cache, for tests that stop it; stopped
    by its PID."""
    server = RedisServer(tmp_path / "redis")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": server.url,
        }
    }
    yield server
    server.stop()
