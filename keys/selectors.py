from collections.abc import Callable

from django.db.models import QuerySet

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
    """The one query authentication makes: the key and its owner, by digest."""
    try:
        return ApiKey.objects.select_related("owner").get(digest=digest)
    except ApiKey.DoesNotExist:
        pass
    for resolve in token_resolvers:
        key = resolve(digest)
        if key is not None:
            return key
    return None
