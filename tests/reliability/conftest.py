"""Servers for the reliability suite. Each test that floods, stops or kills something starts its
own: a private redis-server on a free loopback port, the project under gunicorn on another, and
(for webhooks) Celery workers from tests/webhooks/servers.py. Every process is stopped by its
own PID (process group) in the fixture that started it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.webhooks.servers import (
    VENV_BIN,
    ProcessGroup,
    RedisServer,
    database_url,
    free_port,
)


def server_env(redis_url: str, **extra) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fibe_access.settings_test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "1",
        "LOG_LEVEL": "WARNING",
        **{k: str(v) for k, v in extra.items()},
    }


class AppServer(ProcessGroup):
    """The project under gunicorn (gthread) on a free loopback port, in its own process group."""

    def __init__(self, *, env: dict, log: Path, workers: int = 2, threads: int = 8):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            [
                str(VENV_BIN / "gunicorn"),
                "fibe_access.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(threads),
                "--backlog",
                "256",
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
                "--log-level",
                "warning",
            ],
            env=env,
            log=log,
        )
        self.await_ready(self._answers, "gunicorn", interval=0.2)

    def _answers(self) -> bool:
        import requests

        try:
            return requests.get(self.url + "/api/v1/openapi.json", timeout=2).status_code == 200
        except requests.RequestException:
            return False


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("rel-redis"))
    yield server
    server.stop()


@pytest.fixture
def app_server(transactional_db, private_redis, tmp_path, settings):
    """Factory: start the project under gunicorn against the test database and private Redis.
    This process shares that Redis as its cache, as every process of a deployment does (key
    services publish key changes there). Servers stop before the test database is flushed."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": private_redis.url,
        }
    }
    servers = []

    def start(**extra_env) -> AppServer:
        server = AppServer(
            env=server_env(private_redis.url, **extra_env),
            log=tmp_path / f"gunicorn{len(servers)}.log",
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
