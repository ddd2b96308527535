"""Reads of resources, always scoped to an owner (and, for restricted keys, to a list of IDs)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

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
    *, model: type[Resource], owner_id: int, pk: int, ids: list[int] | None = None
) -> Resource:
    """The owner's record ``pk``, or Http404 — the same answer whether it does not exist,
    belongs to someone else or lies outside a key's restriction."""
    if not 1 <= pk <= MAX_ID or (ids is not None and pk not in ids):
        raise Http404("No such resource.")
    obj = model.objects.filter(owner_id=owner_id, pk=pk).select_related("owner").first()
    if obj is None:
        raise Http404("No such resource.")
    return obj
