from __future__ import annotations

import math

from django.db.models import Q
from django.utils import timezone

from keys.models import ApiKey
from keys.selectors import TokenResolver

from .models import AccessToken, Grant


def key_for_access_token_digest(digest: str) -> ApiKey | None:
    """The key an access token stands for (registered in ``keys.selectors.token_resolvers``):
    its grant's key, with the token's own expiry folded in and the resource it is bound to."""
    token = AccessToken.objects.select_related("grant__key__owner").filter(digest=digest).first()
    if token is None:
        return None
    key = token.grant.key
    ends = key.expires_at.timestamp() if key.expires_at else math.inf
    if token.expires_at.timestamp() < ends:
        key.expires_at = token.expires_at  # this copy only: never saved
    key.bound_resource = token.grant.resource
    return key


# registered in keys.selectors.token_resolvers (by OAuthConfig.ready)
ACCESS_TOKENS = TokenResolver(
    matches=lambda digest: Q(
        pk__in=AccessToken.objects.filter(digest=digest).values("grant__key_id")
    ),
    resolve=key_for_access_token_digest,
)


def grants_for(*, owner) -> list[Grant]:
    """The owner's connected apps still in force (revoked ones drop off the page)."""
    return list(
        Grant.objects.filter(owner=owner, revoked_at__isnull=True)
        .select_related("client", "key")
        .order_by("-created_at", "-id")
    )


def grant_get(*, owner, pk: int) -> Grant | None:
    return Grant.objects.filter(owner=owner, pk=pk).select_related("client", "key").first()


def active(grant: Grant) -> bool:
    return grant.revoked_at is None and grant.key.current_status(timezone.now()) == "active"
