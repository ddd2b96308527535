"""Enforcement for the token-authenticated API.

Public interface (other apps' API modules use it):

- ``ApiKeyAuth``: the django-ninja auth class. Sets ``request.api_key`` and ``request.auth``.
- ``require_scope(request, scope)``: raise ``ScopeDenied`` (403 naming the scope) unless the
  calling key's scopes satisfy ``scope``.
- ``restricted_ids(request, family)``: the resource IDs the key is narrowed to on ``family``,
  or None when it is not restricted there. Lists filter on them; anything else is 404.
- ``actor_for(request)``: the ``Actor`` to pass to services (the key's owner, source api).

Each request makes one Redis call (rate count + the key's change generation) and, in steady
state, no database query: keys are cached per process for API_KEY_CACHE_SECONDS and dropped
everywhere the moment a key service changes them (see ``_key_for``).
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from ninja.security import HttpBearer

from fibe_access.accounts.actor import Actor, Source, client_ip

from . import ratelimit, scopes, tokens
from .models import ApiKey
from .selectors import key_for_token_digest

LAST_USED_EVERY = timedelta(seconds=60)


class ApiError(Exception):
    """An API error with a stable code, a human message and an HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class InvalidToken(ApiError):  # noqa: N818 - named for the Bearer error it becomes
    status = 401
    code = "invalid_token"

    def __init__(self, message: str = "Send a valid API key: Authorization: Bearer <token>."):
        super().__init__(
            message, headers={"WWW-Authenticate": 'Bearer realm="fibe", error="invalid_token"'}
        )


class ScopeDenied(ApiError):  # noqa: N818
    status = 403
    code = "insufficient_scope"


class RateLimited(ApiError):  # noqa: N818
    status = 429
    code = "rate_limited"


class ApiKeyAuth(HttpBearer):
    def __call__(self, request):
        # A missing or non-Bearer header reads as an invalid token, with the same 401 body.
        result = super().__call__(request)
        if result is None:
            raise InvalidToken()
        return result

    def authenticate(self, request, token: str) -> ApiKey:
        token = token.strip()
        if not tokens.is_well_formed(token):  # before any query
            raise InvalidToken("That is not a Fibe API key.")
        digest = tokens.digest(token)
        name = cache_name(digest)
        count, reset, generation = ratelimit.hit(name)
        key = _key_for(digest, generation)
        now = timezone.now()
        if key is None or not key.owner.is_active:
            raise InvalidToken()
        status = key.current_status(now)
        if status != ApiKey.Status.ACTIVE:
            raise InvalidToken(f"This API key is {status}.")
        usage = ratelimit.Usage(limit=key.effective_rate_limit, count=count, reset=reset)
        request.rate_limit_headers = usage.headers()
        if not usage.allowed:
            raise RateLimited(
                f"Rate limit of {usage.limit} requests a minute reached for this key.",
                headers={**usage.headers(), "Retry-After": str(usage.retry_after())},
            )
        _touch(key, now, client_ip(request))
        request.api_key = key
        return key


def cache_name(digest: str) -> str:
    """How the cache names a key's counters: a prefix of its digest, never the token."""
    return digest[:24]


# Keys recently read from the database, per process: {digest: (key, read at, generation)}.
# A copy is used only while the shared generation (in Redis, read in the same round trip as
# the rate counter) still matches and no change is being committed: key services flag a
# change before it commits and move the generation on after, so a revoked, expired, rotated
# or deleted key fails everywhere from its commit on. Changes made outside the services
# (e.g. an account deactivated in the admin) apply within settings.API_KEY_CACHE_SECONDS.
LOCAL_MAX = 2048
_local: dict[str, tuple[ApiKey, float, int]] = {}


def _key_for(digest: str, generation: int | None) -> ApiKey | None:
    ttl = min(settings.API_KEY_CACHE_SECONDS, ratelimit.GENERATION_TTL / 2)
    if generation is None or ttl <= 0:  # no shared cache or a change in flight: ask the DB
        _local.pop(digest, None)
        return key_for_token_digest(digest)
    hit = _local.get(digest)
    if hit is not None and hit[2] == generation and time.monotonic() - hit[1] < ttl:
        return hit[0]
    key = key_for_token_digest(digest)
    if key is not None:
        if len(_local) >= LOCAL_MAX:
            _local.clear()
        _local[digest] = (key, time.monotonic(), generation)
    return key


def change_begin(digest: str) -> None:
    """Called by key services inside their transaction, before changing a key."""
    _local.pop(digest, None)
    ratelimit.change_begin(cache_name(digest))


def change_done(digest: str) -> None:
    """Called by key services once the change has committed."""
    _local.pop(digest, None)
    ratelimit.change_done(cache_name(digest))


def _touch(key: ApiKey, now, ip: str | None) -> None:
    """Record last use at most once a minute: the key row we just read tells us whether it is
    due, and the conditional UPDATE makes concurrent requests write once between them."""
    cutoff = now - LAST_USED_EVERY
    if key.last_used_at is not None and key.last_used_at >= cutoff:
        return
    stale = ApiKey.objects.filter(pk=key.pk)
    (stale.filter(last_used_at__lt=cutoff) | stale.filter(last_used_at__isnull=True)).update(
        last_used_at=now, last_used_ip=ip
    )
    key.last_used_at, key.last_used_ip = now, ip  # the cached copy: no write for a minute


def require_scope(request, scope: str) -> None:
    key: ApiKey = request.api_key
    if not scopes.permits(key.scopes, scope):
        also = scopes.ALSO_SATISFIED_BY.get(scope)
        needed = f"'{scope}'" + (f" (or {', '.join(sorted(also))})" if also else "")
        raise ScopeDenied(f"This API key lacks the scope {needed}.")


def restricted_ids(request, family: str) -> list[int] | None:
    ids = request.api_key.restrictions.get(scopes.canonical_family(family))
    return list(ids) if ids is not None else None


def actor_for(request) -> Actor:
    """The Actor for services called from the API: the key's owner, source api."""
    key: ApiKey = request.api_key
    return Actor(
        user=key.owner,
        source=Source.API,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
    )
