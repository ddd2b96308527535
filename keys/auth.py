"""Authentication with an API key: ``bearer_token(request)`` reads the token of any request,
``key_authenticate(token, ip=…)`` checks it for any face of the API (REST and MCP), and
``ApiKeyAuth`` is the django-ninja auth class built on them (sets ``request.api_key``). Scope and
restriction checks belong to the operations (``fibe_access.api.operations``).

In steady state a request makes no database query and no Redis round trip: keys are cached per
process and dropped everywhere the moment a key service changes them (``keys.cache``), and rate
counts settle with Redis in batches (``keys.ratelimit``).
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone
from ninja.security import HttpBearer

from fibe_access.accounts.actor import client_ip
from fibe_access.api.errors import InvalidToken, RateLimited

from . import cache, ratelimit, refusals, tokens
from .models import ApiKey

LAST_USED_EVERY = timedelta(seconds=60)
NOT_A_KEY = "That is not a Fibe API key."


class ApiKeyAuth(HttpBearer):
    """The django-ninja auth class: sets ``request.api_key`` (and ``request.auth``) and the
    rate-limit headers every answer carries."""

    def __call__(self, request):
        # Never ninja's own header parsing: it logs an unexpected header whole under DEBUG,
        # secret included.
        return self.authenticate(request, bearer_token(request))

    def authenticate(self, request, token: str) -> ApiKey:
        key, usage = key_authenticate(token, ip=client_ip(request), resource="api")
        request.rate_limit_headers = usage.headers()
        request.api_key = key
        return key


def bearer_token(request) -> str:
    """The token of ``Authorization: Bearer <token>``; InvalidToken (401) when the header is
    missing, another scheme or empty. Read from META: request.headers is built anew for each
    request."""
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken()
    return token


def key_authenticate(
    token: str, *, ip: str | None, resource: str | None = None
) -> tuple[ApiKey, ratelimit.Usage]:
    """The key a Bearer token stands for, counted against its rate limit; raises InvalidToken
    or RateLimited. In steady state no query and no network round trip. ``resource`` names the
    door ("api", "mcp", "mcp/readonly"): a token bound to another (an OAuth access token,
    RFC 8707) is refused."""
    token = token.strip()
    if len(token) != tokens.TOKEN_LEN or not token.isascii():
        raise InvalidToken(NOT_A_KEY)
    digest = tokens.digest(token)
    now = time.time()
    entry = cache.cached(digest)
    if entry is not None and now < entry.usable_until:
        key = entry.key  # the steady state: a usable key this process holds
    else:
        # A digest this process holds a key for is that key's token: no shape check needed.
        if entry is None and not tokens.is_well_formed(token):  # before any query
            raise InvalidToken(NOT_A_KEY)
        key = _usable(cache.key_for_digest(digest), digest)
        entry = None
    if getattr(key, "bound_resource", None) not in (None, resource):
        raise InvalidToken("This token was issued for another resource.")
    if key.allowed_ips and not key.allow_list.allows(ip):  # before it counts: see refusals
        raise refusals.ip_refused(key, ip)
    # Counted per key, named by its current token: both tokens of an overlapping rotation and
    # every token of an OAuth grant share it.
    usage = ratelimit.hit(cache.cache_name(key.digest), key.effective_rate_limit, now=now)
    if not usage.allowed:
        raise RateLimited(
            f"Rate limit of {usage.limit} requests a minute reached for this key.",
            headers={**usage.headers(), "Retry-After": str(usage.retry_after())},
        )
    if entry is None or now - entry.used_at >= LAST_USED_EVERY.total_seconds():
        _touch(key, timezone.now(), ip)
        if entry is not None:
            entry.used_at = now
    return key, usage


def _usable(key: ApiKey | None, digest: str) -> ApiKey:
    if key is None or not key.owner.is_active:
        raise InvalidToken()
    now = timezone.now()
    status = key.current_status(now)
    if status != ApiKey.Status.ACTIVE:
        raise InvalidToken(f"This API key is {status}.")
    # the old token of an overlapping rotation (a token standing for the key, such as an OAuth
    # access token, carries its own expiry on the key it resolves to)
    if digest != key.digest and digest == key.previous_digest and not key.previous_usable(now):
        raise InvalidToken("This token was replaced when the key was rotated.")
    return key


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
