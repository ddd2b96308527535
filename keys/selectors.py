from django.db.models import QuerySet

from .models import ApiKey


def key_list(*, owner) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(owner=owner).order_by("-created_at", "-id")


def key_get(*, owner, pk: int) -> ApiKey | None:
    """The owner's key ``pk``, or None."""
    return ApiKey.objects.filter(owner=owner, pk=pk).first()


def key_for_token_digest(digest: str) -> ApiKey | None:
    """The one query authentication makes: the key and its owner, by digest."""
    try:
        return ApiKey.objects.select_related("owner").get(digest=digest)
    except ApiKey.DoesNotExist:
        return None
