"""Every write of OAuth: approving a grant (behind the step-up), codes, tokens, rotation, reuse,
revocation, client registration and pruning. A grant's key is an ``ApiKey``: revoking the grant
revokes the key, announced on the key change channel so every process refuses its tokens from
the commit on."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from fibe_access.accounts.actor import Actor
from fibe_access.accounts.models import SecurityEvent
from fibe_access.accounts.services import security_log
from fibe_access.accounts.verification import require_verified
from keys import cache, scopes, tokens
from keys.models import ApiKey
from keys.services import clean_restrictions

from . import clients
from .models import AccessToken, AuthorizationCode, Grant, OAuthClient, RefreshToken

Kind = SecurityEvent.Kind


@transaction.atomic
def grant_approve(
    *,
    actor: Actor,
    owner,
    client: OAuthClient,
    resource: str,
    redirect_uri: str,
    scope_names: list[str],
    restrictions: dict | None = None,
    expires_at: datetime | None = None,
    confirm_destructive: bool = True,
) -> Grant:
    """What the person approved on the consent page: a grant and the key behind it."""
    actor.require_step_up()
    require_verified(actor=actor, owner=owner)
    try:
        names = scopes.parse(scope_names)
    except scopes.ScopeError as exc:
        raise ValidationError({"scopes": str(exc)}) from exc
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "Choose an expiry date in the future."})
    unissued = tokens.generate()  # the key's own secret is never shown to anyone
    key = ApiKey(
        owner=owner,
        label=f"{client.client_name} (connected app)"[:100],
        scopes=names,
        restrictions=clean_restrictions(owner=owner, scope_names=names, restrictions=restrictions),
        expires_at=expires_at,
        digest=tokens.digest(unissued),
        last4=unissued[-4:],
        confirm_destructive=bool(confirm_destructive),  # issue 22: on unless unticked
    )
    key.full_clean()
    key.save()
    grant = Grant.objects.create(
        owner=owner,
        client=client,
        key=key,
        resource=resource,
        redirect_host=urlsplit(redirect_uri).netloc[:300],
    )
    security_log(
        actor=actor,
        user=owner,
        kind=Kind.OAUTH_GRANTED,
        client=client.client_name,
        client_id=client.client_id,
        grant_id=grant.pk,
        key_id=key.pk,
        scopes=names,
        restrictions=key.restrictions,
        resource=resource,
        confirm_destructive=key.confirm_destructive,
    )
    return grant


def code_create(*, grant: Grant, code: str, redirect_uri: str, challenge: str) -> None:
    AuthorizationCode.objects.create(
        digest=tokens.digest(code),
        grant=grant,
        redirect_uri=redirect_uri,
        code_challenge=challenge,
        code_challenge_method="S256",
        expires_at=timezone.now() + timedelta(seconds=settings.OAUTH_CODE_SECONDS),
    )


def code_use(code: AuthorizationCode) -> None:
    code.used_at = timezone.now()
    code.save(update_fields=["used_at"])


def tokens_store(*, grant: Grant, access_token: str, refresh_token: str | None) -> None:
    AccessToken.objects.create(
        digest=tokens.digest(access_token),
        grant=grant,
        expires_at=timezone.now() + timedelta(seconds=settings.OAUTH_ACCESS_TOKEN_SECONDS),
    )
    if refresh_token:
        RefreshToken.objects.create(digest=tokens.digest(refresh_token), grant=grant)
    AccessToken.objects.filter(grant=grant, expires_at__lt=timezone.now()).delete()


def refresh_use(token: RefreshToken) -> None:
    token.used_at = timezone.now()
    token.save(update_fields=["used_at"])


@transaction.atomic
def grant_revoke(*, actor: Actor, grant: Grant, reason: str = "revoked") -> Grant:
    """Revoke the grant and its key: every token of it fails in every process from the commit
    on. ``reason`` is ``revoked`` (by the person), ``code_reused`` or ``refresh_reused``."""
    if reason == "revoked":
        actor.require_step_up()
    grant = Grant.objects.select_for_update().select_related("client", "key").get(pk=grant.pk)
    key = ApiKey.objects.select_for_update().get(pk=grant.key_id)
    already = grant.revoked_at is not None
    if not already:
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at"])
    if key.status != ApiKey.Status.REVOKED:
        key.status = ApiKey.Status.REVOKED
        key.save(update_fields=["status"])
    cache.key_changing(key.digest)
    grant.access_tokens.all().delete()
    grant.refresh_tokens.all().delete()
    if not already:
        kind = Kind.OAUTH_REVOKED if reason == "revoked" else Kind.OAUTH_TOKEN_REUSED
        security_log(
            actor=actor,
            user=grant.owner,
            kind=kind,
            client=grant.client.client_name,
            grant_id=grant.pk,
            key_id=key.pk,
            reason=reason,
        )
    return grant


def new_client_id() -> str:
    return "fibe-client-" + secrets.token_urlsafe(18)


def client_register(*, client_id: str, metadata: dict, ip: str | None) -> OAuthClient:
    """A client registered by RFC 7591 (always public: PKCE, no secret)."""
    uris = clients.clean_redirect_uris(metadata.get("redirect_uris"))
    return OAuthClient.objects.create(
        client_id=client_id,
        kind=OAuthClient.Kind.REGISTERED,
        client_name=clients.clean_name(metadata.get("client_name"), "Unnamed app"),
        client_uri=str(metadata.get("client_uri") or "")[:500],
        redirect_uris=uris,
        registered_ip=ip,
    )


def clients_prune(*, older_than: timedelta | None = None) -> int:
    """Delete clients no grant uses, registered (or last fetched) over a day ago."""
    cutoff = timezone.now() - (
        older_than or timedelta(seconds=settings.OAUTH_UNUSED_CLIENT_SECONDS)
    )
    stale = OAuthClient.objects.filter(created_at__lt=cutoff, grants__isnull=True)
    deleted, _ = stale.delete()
    AuthorizationCode.objects.filter(expires_at__lt=cutoff).delete()
    return deleted
