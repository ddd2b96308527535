"""Fixtures for real servers, shared by tests/webhooks, tests/reliability and tests/e2e: a
loopback webhook receiver, a private Redis as the Celery broker, real Celery workers on it and
the test database. Registered for the whole suite by ``pytest_plugins`` in tests/conftest.py."""

import os

import pytest
import redis

from fibe_access.celery import app as celery_app
from webhooks.models import WebhookEndpoint

from .servers import Receiver, RedisServer, Worker, database_url

SECRET = "It's a Secret to Everybody"


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def make_endpoint(user):
    def make(url, *, events=("playground.created",), secret=SECRET, owner=None, **kwargs):
        return WebhookEndpoint.objects.create(
            owner=owner or user, url=url, events=list(events), secret=secret, **kwargs
        )

    return make


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def own_redis(tmp_path, settings):
    """A redis-server of this test's own as the project's cache, for tests that stop it (the
    session's ``redis_server`` is shared and must stay up); stopped by its PID."""
    server = RedisServer(tmp_path / "redis")
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": server.url}}
    yield server
    server.stop()


@pytest.fixture
def broker(redis_server):
    """Point this process's Celery producer at the private Redis for the test."""
    previous = celery_app.conf.broker_url
    redis.Redis.from_url(redis_server.url).flushall()
    point_celery(redis_server.url)
    yield redis_server
    point_celery(previous)


def point_celery(url):
    celery_app.conf.broker_url = url
    # Forget cached pools (kombu keeps per-URL pools, so switching back reuses the old one).
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def start_worker(transactional_db, broker, tmp_path):
    """Factory for real Celery workers on the private Redis and the test database."""
    workers = []

    def start(**extra_env):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "fibe_access.settings_test",
            "DATABASE_URL": database_url(),
            "REDIS_URL": broker.url,
            "DATABASE_CONN_MAX_AGE_SECONDS": "0",
            "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "1",
            **{k: str(v) for k, v in extra_env.items()},
        }
        worker = Worker(
            env=env,
            log=tmp_path / f"worker{len(workers)}.log",
            name=f"hooks{len(workers)}-{os.getpid()}",
        )
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
