"""Reads of resources, always scoped to an owner (and, for lists read with a restricted key, to
a list of IDs). A ``*_get`` returns the record or None; the caller decides what "not found"
means to its face (a 404 in the API and on pages)."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Resource

MAX_ID = 2**63 - 1


def resource_list(
    *, model: type[Resource], owner_id: int, ids: list[int] | None = None
) -> QuerySet:
    qs = model.objects.filter(owner_id=owner_id).order_by("-created_at", "-id")
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs


def resource_get(
    *, model: type[Resource], owner_id: int, pk: int, with_owner: bool = True
) -> Resource | None:
    """The owner's record ``pk``, or None: the same whether it does not exist or belongs to
    someone else. ``with_owner=False`` (a plain read) leaves the owner row out of the query."""
    if not 1 <= pk <= MAX_ID:
        return None
    qs = model.objects.filter(owner_id=owner_id, pk=pk).order_by()
    if with_owner:
        qs = qs.select_related("owner")
    # pk is unique: no ORDER BY (the model's default ordering, or first()'s) is needed
    return next(iter(qs[:1]), None)
