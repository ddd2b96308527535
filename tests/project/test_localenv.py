"""The local env file that ``make run`` writes: what it holds, who reads it, and who never does.

Each case runs a fresh Python process with nothing exported but what it names, as a new
terminal would; FIBE_ENV_FILE points it at a file in a temp folder instead of the checkout's
``.env`` (which may be a developer's own)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from fibe_access import localenv
from tests.support.servers import BASE_DIR

DUMP = """
import hashlib, json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "debug": settings.DEBUG,
    "secret_sha256": hashlib.sha256(settings.SECRET_KEY.encode()).hexdigest(),
    "engine": db["ENGINE"], "name": str(db["NAME"]), "options": db.get("OPTIONS", {}),
    "redis_url": settings.REDIS_URL, "broker": settings.CELERY_BROKER_URL,
    "cache": settings.CACHES["default"]["BACKEND"],
    "key_cache_seconds": settings.API_KEY_CACHE_SECONDS,
    "static_root": str(settings.STATIC_ROOT),
    "private_targets": settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS,
}))
"""
SECRET = "a-local-secret-from-the-env-file"


def python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_of(module: str, env_file: Path, **env) -> dict:
    done = python(DUMP, DJANGO_SETTINGS_MODULE=module, FIBE_ENV_FILE=str(env_file), **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def local_env(tmp_path: Path) -> Path:
    """An env file as `make run` writes it, plus a setting the test settings do not set."""
    var = tmp_path / "var"
    path = tmp_path / "local.env"
    path.write_text(
        "# a developer's make run\n"
        "DJANGO_DEBUG=1\n"
        f"DJANGO_SECRET_KEY={SECRET}\n"
        f"FIBE_VAR_DIR={var}\n"
        f"DATABASE_URL=sqlite:///{var / 'db.sqlite3'}\n"
        f"REDIS_URL=unix://{var / 'redis' / 'redis.sock'}?db=3\n"
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS=1\n"
        "API_KEY_CACHE_SECONDS=99\n"
    )
    return path


def test_every_terminal_reads_the_env_file_sqlite_in_wal_and_the_embedded_redis(tmp_path):
    path = local_env(tmp_path)
    got = settings_of("fibe_access.settings", path)
    var = tmp_path / "var"
    assert got["debug"] is True
    assert got["secret_sha256"] == hashlib.sha256(SECRET.encode()).hexdigest()
    assert got["engine"] == "django.db.backends.sqlite3"
    assert got["name"] == str(var / "db.sqlite3")
    assert got["options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in got["options"]["init_command"]
    assert got["options"]["timeout"] >= 20
    assert got["redis_url"] == f"unix://{var / 'redis' / 'redis.sock'}?db=3"
    assert got["broker"] == f"redis+socket://{var / 'redis' / 'redis.sock'}?virtual_host=3"
    assert got["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert got["static_root"] == str(var / "staticfiles")
    assert got["key_cache_seconds"] == 99


def test_an_exported_variable_wins_over_the_env_file(tmp_path):
    got = settings_of(
        "fibe_access.settings",
        local_env(tmp_path),
        DATABASE_URL="postgres://someone@127.0.0.1:5432/elsewhere",
        REDIS_URL="redis://127.0.0.1:6379/7",
    )
    assert got["engine"] == "django.db.backends.postgresql"
    assert got["name"] == "elsewhere"
    assert got["broker"] == "redis://127.0.0.1:6379/7"
    assert got["debug"] is True  # the rest still comes from the file


def test_the_env_file_never_reaches_the_test_settings(tmp_path):
    """`make test` on a machine where `make run` wrote an env file runs on PostgreSQL and
    Redis with the test configuration, whatever the file says."""
    got = settings_of("fibe_access.settings_test", local_env(tmp_path))
    assert got["debug"] is False
    assert got["secret_sha256"] != hashlib.sha256(SECRET.encode()).hexdigest()
    assert got["engine"] == "django.db.backends.postgresql"
    assert got["redis_url"] == "redis://127.0.0.1:6379/14"
    assert got["key_cache_seconds"] == 10
    assert got["static_root"] == str(BASE_DIR / "var" / "staticfiles")
    assert os.environ["FIBE_ENV_FILE"] == ""  # and this very process reads none either


def test_production_without_the_file_refuses_to_start_without_a_secret_key(tmp_path):
    absent = tmp_path / "no-such.env"
    for debug in ({}, {"DJANGO_DEBUG": "0"}, {"DJANGO_DEBUG": "1"}):
        done = python(
            "import django; django.setup()",
            DJANGO_SETTINGS_MODULE="fibe_access.settings",
            FIBE_ENV_FILE=str(absent),
            DATABASE_URL="postgres://fibe@127.0.0.1:5432/fibe",
            **debug,
        )
        assert done.returncode != 0
        assert "DJANGO_SECRET_KEY must be set" in done.stderr
    started = settings_of(
        "fibe_access.settings",
        absent,
        DJANGO_SECRET_KEY="a-real-production-key",
        API_KEY_ENCRYPTION_KEY="dGVzdC1vbmx5LWFnZW50LWtleS1lbmNyeXB0aW9uLTA=",
        DATABASE_URL="postgres://fibe@127.0.0.1:5432/fibe",
    )
    assert started["debug"] is False


PREPARE = "from fibe_access import embedded; print(embedded.prepare_env())"


def test_first_make_run_writes_the_embedded_default_once_and_keeps_it(tmp_path):
    path, var = tmp_path / "local.env", tmp_path / "var"
    first = python(PREPARE, FIBE_ENV_FILE=str(path), FIBE_VAR_DIR=str(var))
    assert first.returncode == 0, first.stderr
    written = path.read_text()
    values = dict(line.split("=", 1) for line in written.splitlines() if line[:1].isupper())
    assert values["DJANGO_DEBUG"] == "1"
    assert len(values["DJANGO_SECRET_KEY"]) >= 50
    assert values["DATABASE_URL"] == f"sqlite:///{var / 'db.sqlite3'}"
    assert values["REDIS_URL"] == f"unix://{var / 'redis' / 'redis.sock'}?db=0"
    assert values["FIBE_VAR_DIR"] == str(var)
    assert path.stat().st_mode & 0o777 == 0o600

    again = python(PREPARE, FIBE_ENV_FILE=str(path))  # FIBE_VAR_DIR now comes from the file
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith(str(var))
    assert path.read_text() == written  # same secret, same files

    other = tmp_path / "other.env"
    python(PREPARE, FIBE_ENV_FILE=str(other), DJANGO_SECRET_KEY="exported-never-on-disk")
    assert "DJANGO_SECRET_KEY" not in other.read_text()
    assert "exported-never-on-disk" not in other.read_text()


def test_a_hand_written_env_file_keeps_its_values_and_gains_only_what_it_lacks(tmp_path):
    path = tmp_path / ".env"
    path.write_text("DJANGO_SECRET_KEY=mine\nDATABASE_URL=postgres://me@127.0.0.1:5432/mine")
    wanted = {
        "DJANGO_SECRET_KEY": "generated",
        "DATABASE_URL": "sqlite:///elsewhere.sqlite3",
        "REDIS_URL": "unix:///run/redis.sock?db=0",
    }
    assert localenv.add_missing(path, wanted, "# header\n") == ["REDIS_URL"]
    assert localenv.read(path) == {
        "DJANGO_SECRET_KEY": "mine",
        "DATABASE_URL": "postgres://me@127.0.0.1:5432/mine",
        "REDIS_URL": "unix:///run/redis.sock?db=0",
    }
    assert localenv.add_missing(path, wanted, "# header\n") == []
