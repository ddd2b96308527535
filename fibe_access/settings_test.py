"""Test settings: the real local PostgreSQL and Redis unless the environment says otherwise."""

import os
import sys

# Never the local env file of `make run` (its SQLite, embedded Redis and debug mode), even
# when one exists or FIBE_ENV_FILE names one: the suite runs on the configuration below.
os.environ["FIBE_ENV_FILE"] = ""
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fibe_access")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "1")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "0")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("API_KEY_ENCRYPTION_KEY", "dGVzdC1vbmx5LWFnZW50LWtleS1lbmNyeXB0aW9uLTA=")

from .settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]  # keep production's
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405

# The test process writes activity only when a test calls keys.activity.recorder.flush(): a
# background thread would write outside each test's transaction. Servers a test starts (which
# never import pytest) keep the thread.
API_ACTIVITY_BACKGROUND = env.bool(  # noqa: F405
    "API_ACTIVITY_BACKGROUND",
    default="pytest" not in sys.modules,
)
