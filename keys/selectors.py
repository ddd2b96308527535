from collections.abc import Callable

from django.db.models import Q, QuerySet

from .models import ApiKey

# Other credentials that stand for a key (an OAuth grant's access tokens, fibe_access.oauth):
# each takes a token digest and returns the key it stands for, or None. Apps register theirs
# at start-up, so keys imports none of them.
token_resolvers: list[Callable[[str], ApiKey | None]] = []


def key_list(*, owner) -> QuerySet[ApiKey]:
    """The owner's API keys; the keys behind OAuth grants are listed as connected apps."""
    return ApiKey.objects.filter(owner=owner, oauth_grant__isnull=True).order_by(
        "-created_at", "-id"
    )


def key_get(*, owner, pk: int) -> ApiKey | None:
    """The owner's key ``pk``, or None."""
    return ApiKey.objects.filter(owner=owner, pk=pk, oauth_grant__isnull=True).first()


def key_for_token_digest(digest: str) -> ApiKey | None:
    """The one query authentication makes for a key: the key and its owner, by the digest of
    its token or of the token an overlapping rotation replaced; then the registered resolvers
    (an OAuth access token stands for its grant's key)."""
    found = ApiKey.objects.select_related("owner").filter(
        Q(digest=digest) | Q(previous_digest=digest)
    )[:1]
    key = next(iter(found), None)
    if key is not None:
        return key
    for resolve in token_resolvers:
        key = resolve(digest)
        if key is not None:
            return key
    return None
