"""Servers for the reliability suite. Each test that floods, stops or kills something starts its
own: a private redis-server on a free loopback port, the project under gunicorn on another, and
(for webhooks) Celery workers from tests/support/servers.py. Every process is stopped by its
own PID (process group) in the fixture that started it."""

from __future__ import annotations

import pytest

from tests.support.appserver import AppServer, server_env


@pytest.fixture
def app_server(transactional_db, redis_server, tmp_path, settings):
    """Factory: start the project under gunicorn against the test database and private Redis.
    This process shares that Redis as its cache, as every process of a deployment does (key
    services publish key changes there). Servers stop before the test database is flushed."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": redis_server.url}}
    servers = []

    def start(*, workers: int = 2, **extra_env) -> AppServer:
        server = AppServer(
            env=server_env(redis_server.url, **extra_env),
            log=tmp_path / f"gunicorn{len(servers)}.log",
            workers=workers,
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
