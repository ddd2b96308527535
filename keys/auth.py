"""Authentication with an API key: ``key_authenticate(token, ip=…)`` for any face of the API,
and ``ApiKeyAuth``, the django-ninja auth class built on it (sets ``request.api_key``). Scope and
restriction checks belong to the operations (``fibe_access.api.operations``).

Each request makes one Redis call (rate count + the key's change generation) and, in steady
state, no database query: keys are cached per process and dropped everywhere the moment a key
service changes them (``keys.cache``).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from ninja.security import HttpBearer

from fibe_access.accounts.actor import client_ip
from fibe_access.api.errors import InvalidToken, RateLimited

from . import cache, ratelimit, tokens
from .models import ApiKey

LAST_USED_EVERY = timedelta(seconds=60)


class ApiKeyAuth(HttpBearer):
    """The django-ninja auth class: sets ``request.api_key`` (and ``request.auth``) and the
    rate-limit headers every answer carries."""

    def __call__(self, request):
        # A missing or non-Bearer header reads as an invalid token, with the same 401 body.
        result = super().__call__(request)
        if result is None:
            raise InvalidToken()
        return result

    def authenticate(self, request, token: str) -> ApiKey:
        key, usage = key_authenticate(token, ip=client_ip(request))
        request.rate_limit_headers = usage.headers()
        request.api_key = key
        return key


def key_authenticate(token: str, *, ip: str | None) -> tuple[ApiKey, ratelimit.Usage]:
    """The key a Bearer token stands for, counted against its rate limit; raises InvalidToken
    or RateLimited. One Redis round trip, and in steady state no query."""
    token = token.strip()
    if not tokens.is_well_formed(token):  # before any query
        raise InvalidToken("That is not a Fibe API key.")
    digest = tokens.digest(token)
    name = cache.cache_name(digest)
    count, reset, channel = ratelimit.hit(name, also_read=cache.channel(name))
    key = cache.key_for_digest(digest, cache.generation(channel))
    now = timezone.now()
    if key is None or not key.owner.is_active:
        raise InvalidToken()
    status = key.current_status(now)
    if status != ApiKey.Status.ACTIVE:
        raise InvalidToken(f"This API key is {status}.")
    usage = ratelimit.Usage(limit=key.effective_rate_limit, count=count, reset=reset)
    if not usage.allowed:
        raise RateLimited(
            f"Rate limit of {usage.limit} requests a minute reached for this key.",
            headers={**usage.headers(), "Retry-After": str(usage.retry_after())},
        )
    _touch(key, now, ip)
    return key, usage


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
