from collections.abc import Callable
from typing import NamedTuple

from django.db.models import Q, QuerySet

from .models import ApiKey


class TokenResolver(NamedTuple):
    """Another credential that stands for a key (an OAuth grant's access tokens,
    fibe_access.oauth): ``matches(digest)`` is the condition on ApiKey that finds the key a
    token of it stands for (so an unknown token still costs one query in all), ``resolve(digest)``
    the key as that token may use it, or None. Apps register theirs at start-up, so keys
    imports none of them."""

    matches: Callable[[str], Q]
    resolve: Callable[[str], ApiKey | None]


token_resolvers: list[TokenResolver] = []


def key_list(*, owner, label: str = "") -> QuerySet[ApiKey]:
    """The owner's API keys, newest first, those whose label holds ``label`` (any case) when
    one is given; the keys behind OAuth grants are listed as connected apps."""
    qs = ApiKey.objects.filter(owner=owner, oauth_grant__isnull=True)
    if label:
        qs = qs.filter(label__icontains=label)
    return qs.order_by("-created_at", "-id")


def key_get(*, owner, pk: int) -> ApiKey | None:
    """The owner's key ``pk``, or None."""
    return ApiKey.objects.filter(owner=owner, pk=pk, oauth_grant__isnull=True).first()


def key_for_token_digest(digest: str) -> ApiKey | None:
    """The one query authentication makes for a token: the key and its owner, by the digest of
    its token, of the token an overlapping rotation replaced, or of a credential standing for
    it (registered resolvers, which then read what that credential allows)."""
    found = Q(digest=digest) | Q(previous_digest=digest)
    for resolver in token_resolvers:
        found |= resolver.matches(digest)
    key = ApiKey.objects.select_related("owner").filter(found).first()
    if key is None or digest in (key.digest, key.previous_digest):
        return key
    for resolver in token_resolvers:
        resolved = resolver.resolve(digest)
        if resolved is not None:
            return resolved
    return None
