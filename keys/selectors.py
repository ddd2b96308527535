from django.db.models import Q, QuerySet

from .models import ApiKey


def key_list(*, owner) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(owner=owner).order_by("-created_at", "-id")


def key_get(*, owner, pk: int) -> ApiKey | None:
    """The owner's key ``pk``, or None."""
    return ApiKey.objects.filter(owner=owner, pk=pk).first()


def key_for_token_digest(digest: str) -> ApiKey | None:
    """The one query authentication makes: the key and its owner, by the digest of its token
    or of the token an overlapping rotation replaced."""
    found = ApiKey.objects.select_related("owner").filter(
        Q(digest=digest) | Q(previous_digest=digest)
    )[:1]
    return next(iter(found), None)
