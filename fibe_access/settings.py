"""Settings, all read from the environment (12-factor).

``make run`` writes a local env file (``fibe_access.localenv``) with the embedded default:
debug on, a generated secret key, SQLite in WAL mode under FIBE_VAR_DIR and an embedded Redis
on a unix socket there; exported variables win over it. Production has no such file, sets
DJANGO_DEBUG=0 and must then provide DJANGO_SECRET_KEY, DATABASE_URL and REDIS_URL.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import environ
from celery.schedules import schedule
from django.core.exceptions import ImproperlyConfigured

from fibe_access import envnames, localenv

localenv.load()
envnames.renames_apply()

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent


def duration(name: str, default: float, unit: str = "seconds") -> timedelta:
    """A length of time from the variable ``name``, a number of ``unit`` (its name says it)."""
    return timedelta(**{unit: env.float(name, default=default)})


VAR_DIR = Path(env.str("FIBE_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set (`make run` writes one, with DJANGO_DEBUG=1, to the"
        f" local env file {localenv.env_file()} on first run)."
    )

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "qsessions",  # django.contrib.sessions' store, with each session's user, IP and user agent
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "ninja",
    "axes",
    "csp",
    "fibe_access.accounts",
    "fibe_access.resources",
    "keys",
    "webhooks",
    "fibe_access.oauth",
]

# The page middleware is scoped to pages (fibe_access/pagemiddleware.py): requests under /api/
# pass through it, authenticated by their key alone, with the security headers still applied.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "fibe_access.pagemiddleware.ApiHeaders",
    "fibe_access.pagemiddleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "fibe_access.pagemiddleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "fibe_access.pagemiddleware.CsrfViewMiddleware",
    "fibe_access.pagemiddleware.AuthenticationMiddleware",
    "fibe_access.pagemiddleware.OTPMiddleware",
    "fibe_access.pagemiddleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "fibe_access.pagemiddleware.StepUpMiddleware",
    "fibe_access.pagemiddleware.AxesMiddleware",
]
# axes looks for its middleware by name; ours is a subclass of it (tests/project checks it runs).
SILENCED_SYSTEM_CHECKS = ["axes.W002"]

ROOT_URLCONF = "fibe_access.urls"
WSGI_APPLICATION = "fibe_access.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fibe_access.accounts.context_processors.step_up",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE_SECONDS", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web threads, the worker and beat write concurrently: WAL lets readers run beside the one
    # writer, IMMEDIATE takes the write lock when a transaction begins (a deferred one that
    # upgrades fails at once with "database is locked"), and the timeout makes writers queue.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        transaction_mode="IMMEDIATE",
        timeout=30,
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:security"
LOGOUT_REDIRECT_URL = "accounts:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

SESSION_ENGINE = "qsessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The reverse proxies in front of the web processes (addresses or CIDRs, v4 or v6). A request
# whose peer is one of them is from the right-most X-Forwarded-For hop that is not
# (fibe_access.accounts.actor.client_ip); from any other peer the header is ignored.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy.strip(), strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {_exc}") from None

EMAIL_BACKEND = env.str(
    "DJANGO_EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="Fibe <no-reply@fibe.invalid>")

# --- Redis, Celery, cache -------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")


def _celery_broker_url(redis_url: str) -> str:
    """kombu names a Redis unix socket ``redis+socket:///path?virtual_host=N`` where redis-py
    (the cache) reads ``unix:///path?db=N``; the embedded Redis listens on such a socket."""
    url = urlsplit(redis_url)
    if url.scheme != "unix":
        return redis_url
    db = parse_qs(url.query).get("db", ["0"])[0]
    return f"redis+socket://{url.path}?virtual_host={db}"


# Every Redis connection gives up after this many seconds (connecting, or waiting for an
# answer), so an unreachable or black-holed Redis never holds a request or a transaction longer.
REDIS_TIMEOUT_SECONDS = env.float("REDIS_TIMEOUT_SECONDS", default=1.0)


def _redis_options(redis_url: str, timeout: float) -> dict:
    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    if urlsplit(redis_url).scheme in ("redis", "rediss"):
        options["socket_keepalive"] = True  # TCP only (a unix socket has no keepalive)
    return options


if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": _redis_options(REDIS_URL, REDIS_TIMEOUT_SECONDS),
        }
    }
    CELERY_BROKER_URL = _celery_broker_url(REDIS_URL)
    # A publish on a dead connection gives up too. Kept above the 1 s a worker's BRPOP waits
    # for its answer, so an idle worker never times out.
    CELERY_BROKER_TRANSPORT_OPTIONS = _redis_options(REDIS_URL, max(5.0, REDIS_TIMEOUT_SECONDS))
else:
    # One process only (a one-off manage.py command): no task reaches a worker. The outbox
    # keeps every delivery, and beat enqueues it once a worker runs on Redis.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing happens after a web request's commit: fail fast when the broker is away rather
# than hold the request, since beat re-enqueues anything whose message never arrived.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_DEFAULT_QUEUE = "default"
# Celery's Django fix-up otherwise closes the database connection before and after every task
# (a new PostgreSQL connection per webhook attempt); fibe_access/celery.py calls Django's
# close_old_connections around each task instead, which honours CONN_MAX_AGE and drops
# broken connections.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_ROUTES = {"webhooks.tasks.*": {"queue": "webhooks"}}
CELERY_BEAT_SCHEDULE = {
    "playgrounds-mark-expiring": {
        "task": "fibe_access.resources.tasks.playgrounds_mark_expiring",
        "schedule": schedule(timedelta(seconds=30)),
    },
    "webhooks-enqueue-due": {
        "task": "webhooks.tasks.deliveries_enqueue_due",
        "schedule": schedule(timedelta(seconds=5)),
    },
    "webhooks-purge-old-logs": {
        "task": "webhooks.tasks.deliveries_purge_old",
        "schedule": schedule(timedelta(hours=1)),
    },
    "webhooks-listen-expire": {
        "task": "webhooks.listen_tasks.sessions_expire",
        "schedule": schedule(timedelta(seconds=30)),
    },
    "webhooks-disable-failing": {
        "task": "webhooks.tasks.endpoints_disable_failing",
        "schedule": schedule(timedelta(minutes=5)),
    },
    "keys-lifecycle": {
        "task": "keys.tasks.keys_lifecycle",
        "schedule": schedule(timedelta(minutes=5)),
    },
    "keys-activity-trim": {
        "task": "keys.tasks.activity_trim",
        "schedule": schedule(timedelta(minutes=10)),
    },
    "accounts-security-log-trim": {
        "task": "fibe_access.accounts.tasks.security_log_trim",
        "schedule": schedule(timedelta(hours=1)),
    },
    "oauth-clients-prune": {
        "task": "fibe_access.oauth.tasks.clients_prune",
        "schedule": schedule(timedelta(hours=1)),
    },
}

# --- Fibe Access ----------------------------------------------------------------------------
STEP_UP_WINDOW = duration("STEP_UP_WINDOW_SECONDS", 600)
PLAYGROUND_EXPIRY_NOTICE = duration("PLAYGROUND_EXPIRY_NOTICE_SECONDS", 3600)
API_KEY_RATE_LIMIT_PER_MINUTE = env.int("API_KEY_RATE_LIMIT_PER_MINUTE", default=600)
# the API reads JSON text up to 4 MiB (fibe_access/api/bodies.py: MAX_TEXT_BYTES)
DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
# How long a process may reuse a key it read, while Redis says the key has not changed (key
# services signal every change through Redis, so every process sharing REDIS_URL refuses a
# revoked key from its commit on). 0 reads the key from the database on every request.
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=10.0)
# A process trusts its cached keys only while Redis answered, on its subscription to key
# changes, a PING sent less than this many seconds ago (keys.changes): the bound on how late a
# stalled or black-holed connection can make a revocation.
API_KEY_CHANNEL_TRUST_SECONDS = env.float("API_KEY_CHANNEL_TRUST_SECONDS", default=3.0)
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOKS_DISABLE_AFTER = duration("WEBHOOKS_DISABLE_AFTER_SECONDS", 5 * 86400)
WEBHOOKS_LOG_RETENTION = duration("WEBHOOKS_LOG_RETENTION_SECONDS", 30 * 86400)
# Beat's purge of expired logs rests this many times as long as each batch took before the
# next, so a large backlog (a first run, a beat stopped for a day) leaves the database's CPU
# to the deliveries being sent meanwhile (bench/scale.py: the drain beside it).
WEBHOOKS_PURGE_PAUSE = env.float("WEBHOOKS_PURGE_PAUSE", default=2.0)
WEBHOOKS_CONNECT_TIMEOUT = env.float("WEBHOOKS_CONNECT_TIMEOUT_SECONDS", default=5.0)
WEBHOOKS_READ_TIMEOUT = env.float("WEBHOOKS_READ_TIMEOUT_SECONDS", default=15.0)
# One attempt, from connect to the last byte read, is cut after this many seconds (a receiver
# dribbling bytes cannot hold a worker); one endpoint, and one account, has at most so many
# attempts in flight (webhooks.engine.slots).
WEBHOOKS_ATTEMPT_BUDGET = env.float("WEBHOOKS_ATTEMPT_BUDGET_SECONDS", default=20.0)
WEBHOOKS_ENDPOINT_CONCURRENCY = env.int("WEBHOOKS_ENDPOINT_CONCURRENCY", default=4)
WEBHOOKS_ACCOUNT_CONCURRENCY = env.int("WEBHOOKS_ACCOUNT_CONCURRENCY", default=8)
# A send task claims up to WEBHOOKS_SEND_BATCH due deliveries, sends them on up to
# WEBHOOKS_SEND_THREADS threads (lanes of an account: at most WEBHOOKS_ACCOUNT_CONCURRENCY divided
# among the worker's processes; one kept-alive connection per receiving host), and
# starts no send later than WEBHOOKS_SEND_WINDOW seconds in (the rest go back, uncounted).
# A claimed delivery is in flight until sent: keep WEBHOOKS_STUCK_AFTER above
# WEBHOOKS_SEND_WINDOW + WEBHOOKS_ATTEMPT_BUDGET + WEBHOOKS_CONNECT_TIMEOUT (35 s by default;
# `manage.py check` warns otherwise: webhooks.W001).
WEBHOOKS_SEND_BATCH = env.int("WEBHOOKS_SEND_BATCH", default=500)
WEBHOOKS_SEND_THREADS = env.int("WEBHOOKS_SEND_THREADS", default=8)
WEBHOOKS_SEND_WINDOW = env.float("WEBHOOKS_SEND_WINDOW_SECONDS", default=10.0)
# Test sends, redeliveries and recoveries asked for, per endpoint per minute.
WEBHOOKS_SENDS_PER_MINUTE = env.int("WEBHOOKS_SENDS_PER_MINUTE", default=10)
# A listen session (`fibe listen`) not polled for this many seconds ends; a poll waits at most
# WEBHOOKS_LISTEN_WAIT seconds for an event before it answers empty.
WEBHOOKS_LISTEN_TTL = env.int("WEBHOOKS_LISTEN_TTL_SECONDS", default=60)
WEBHOOKS_LISTEN_WAIT = env.int("WEBHOOKS_LISTEN_WAIT_SECONDS", default=25)
# The beat scan re-enqueues a due delivery whose broker message is older than this (lost), and
# one in flight longer than WEBHOOKS_STUCK_AFTER (its worker died mid-send).
WEBHOOKS_REENQUEUE_AFTER = duration("WEBHOOKS_REENQUEUE_AFTER_SECONDS", 60)
WEBHOOKS_STUCK_AFTER = duration("WEBHOOKS_STUCK_AFTER_SECONDS", 120)
# Called with (user, actor) by account deletion, before the user row goes.
ACCOUNT_DELETE_HOOKS = ["keys.services.key_revoke_all_for_owner"]

# --- Accounts and access hardening (issue 16) -------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a throttled sign-in before any hashing
    "django.contrib.auth.backends.ModelBackend",
]
# django-axes, on the shared cache (Redis when REDIS_URL is set): failed sign-ins are counted per
# account (canonical e-mail, known or not) and per client IP; past the limit both are refused for
# the cool-off, whatever the password, without hashing it.
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = env.int("SIGN_IN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = duration("SIGN_IN_LOCKOUT_SECONDS", 900)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = False  # else one good sign-in of one's own resets the IP's count
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_CALLABLE = "fibe_access.accounts.throttle.axes_username"
AXES_CLIENT_IP_CALLABLE = "fibe_access.accounts.throttle.axes_client_ip"
AXES_LOCKOUT_CALLABLE = "fibe_access.accounts.throttle.locked_out_response"
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
# Sign-ups, verification resends and password-reset requests from one client address an hour.
ACCOUNT_REQUESTS_PER_IP_HOUR = env.int("ACCOUNT_REQUESTS_PER_IP_HOUR", default=20)

EMAIL_VERIFICATION_MAX_AGE = duration("EMAIL_VERIFICATION_MAX_AGE_HOURS", 48, "hours")
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_SECONDS", default=3600)
# Mail to one address (verification, reset, "you already have an account"), and notices to one
# account, within an hour; a notice about the same thing is sent at most once a day.
ACCOUNT_MAIL_PER_ADDRESS_HOUR = env.int("ACCOUNT_MAIL_PER_ADDRESS_HOUR", default=5)
NOTICES_PER_ACCOUNT_HOUR = env.int("NOTICES_PER_ACCOUNT_HOUR", default=5)
NOTICE_REPEAT_AFTER = timedelta(hours=24)

SECURITY_LOG_RETENTION = duration("SECURITY_LOG_RETENTION_DAYS", 365, "days")
SECURITY_LOG_MAX_ROWS = env.int("SECURITY_LOG_MAX_ROWS", default=5000)
SECURITY_LOG_MAX_FAILED_SIGN_IN_ROWS = 500

SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=False)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# 32 bytes, urlsafe base64: AES-GCM for every sealed value (agent keys, Secret values; see
# fibe_access/sealed.py). Required when debug is off; under debug it may be left out and is then
# derived from SECRET_KEY. Old keys (comma-separated) still decrypt until `manage.py reencrypt`
# has moved every sealed value to the current one.
API_KEY_ENCRYPTION_KEY = env.str("API_KEY_ENCRYPTION_KEY", default="")
API_KEY_ENCRYPTION_OLD_KEYS = env.list("API_KEY_ENCRYPTION_OLD_KEYS", default=[])
if not API_KEY_ENCRYPTION_KEY and not DEBUG:
    raise ImproperlyConfigured(
        "API_KEY_ENCRYPTION_KEY must be set when DJANGO_DEBUG is off: 32 random bytes, urlsafe "
        'base64, e.g. the output of  python3 -c "import base64, os; '
        'print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
    )

# Browser origins allowed to call /mcp (e.g. https://app.example.com). A request without Origin
# (every non-browser client) is served; one with an Origin not listed is refused with 403, as
# the MCP transport spec asks (DNS rebinding).
MCP_ALLOWED_ORIGINS = env.list("MCP_ALLOWED_ORIGINS", default=[])

OTP_TOTP_ISSUER = "Fibe"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # the MCP SDK logs every stateless request's start and end at INFO
        "mcp": {"level": "WARNING"},
    },
}

WHITENOISE_USE_FINDERS = DEBUG

# --- OAuth 2.1 for the MCP server and the API (issue 21) ---------------------------------------
# The site's public URL (scheme and host, no path) as clients see it behind a proxy: the OAuth
# issuer and the resource URLs. Empty: taken from each request (`make run`).
PUBLIC_URL = env.str("PUBLIC_URL", default="")
OAUTH_ACCESS_TOKEN_SECONDS = env.int("OAUTH_ACCESS_TOKEN_SECONDS", default=3600)
OAUTH_CODE_SECONDS = env.int("OAUTH_CODE_SECONDS", default=120)
# A Client ID Metadata Document is fetched again after this long.
OAUTH_CIMD_CACHE_SECONDS = env.int("OAUTH_CIMD_CACHE_SECONDS", default=3600)
# Fetch metadata documents from loopback hosts (development and tests only: never in production).
OAUTH_CIMD_ALLOW_LOOPBACK = env.bool("OAUTH_CIMD_ALLOW_LOOPBACK", default=DEBUG)
# A CA bundle to verify metadata documents' TLS with (tests' own CA); empty: the system's.
OAUTH_CIMD_CA_BUNDLE = env.str("OAUTH_CIMD_CA_BUNDLE", default="")
OAUTH_REGISTRATIONS_PER_HOUR = env.int("OAUTH_REGISTRATIONS_PER_HOUR", default=20)
# Clients no grant uses are deleted after this long.
OAUTH_UNUSED_CLIENT_SECONDS = env.int("OAUTH_UNUSED_CLIENT_SECONDS", default=86400)
# --- Leaked keys and per-key activity (issue 24) ---------------------------------------------
# POST /api/v1/credentials/revoke and the GitHub secret-scanning endpoint: reports accepted from
# one client address (IPv6 per /64) a minute, and the largest body read.
LEAK_REPORTS_PER_IP_MINUTE = env.int("LEAK_REPORTS_PER_IP_MINUTE", default=30)
LEAK_REPORT_MAX_TOKENS = 1000
LEAK_REPORT_MAX_BYTES = env.int("LEAK_REPORT_MAX_BYTES", default=256 * 1024)
# GitHub's secret-scanning public keys, {key identifier: PEM}: from GITHUB_SECRET_SCANNING_KEYS
# (GitHub's JSON, as https://api.github.com/meta/public_keys/secret_scanning answers) and/or
# the file `manage.py github_scanning_keys` writes. Read at request time; never fetched then.
GITHUB_SECRET_SCANNING_KEYS = env.str("GITHUB_SECRET_SCANNING_KEYS", default="")
# GitHub's messages are signed, so they may be larger: matches a message, and its body.
GITHUB_SECRET_SCANNING_MAX_MATCHES = env.int("GITHUB_SECRET_SCANNING_MAX_MATCHES", default=10_000)
GITHUB_SECRET_SCANNING_MAX_BYTES = env.int("GITHUB_SECRET_SCANNING_MAX_BYTES", default=2 * 1024**2)
GITHUB_SECRET_SCANNING_KEYS_FILE = Path(
    env.str("GITHUB_SECRET_SCANNING_KEYS_FILE", default=str(VAR_DIR / "github-scanning-keys.json"))
)
# Activity: buffered per process, written in batches by a background thread every
# API_ACTIVITY_FLUSH_SECONDS or once API_ACTIVITY_FLUSH_BATCH entries wait; past
# API_ACTIVITY_BUFFER waiting entries new ones are dropped and counted.
API_ACTIVITY_ENABLED = env.bool("API_ACTIVITY_ENABLED", default=True)
API_ACTIVITY_BACKGROUND = env.bool("API_ACTIVITY_BACKGROUND", default=True)
API_ACTIVITY_BUFFER = env.int("API_ACTIVITY_BUFFER", default=20_000)
API_ACTIVITY_FLUSH_BATCH = env.int("API_ACTIVITY_FLUSH_BATCH", default=500)
API_ACTIVITY_FLUSH_SECONDS = env.float("API_ACTIVITY_FLUSH_SECONDS", default=2.0)
API_ACTIVITY_RETENTION = duration("API_ACTIVITY_RETENTION_DAYS", 30, "days")
API_ACTIVITY_TRIM_BATCH = env.int("API_ACTIVITY_TRIM_BATCH", default=5000)
# Where a key's page finds the webhook deliveries its writes caused (keys and webhooks do not
# import each other; this names the webhooks selector).
KEY_ACTIVITY_DELIVERIES = "webhooks.selectors.deliveries_caused_by"
