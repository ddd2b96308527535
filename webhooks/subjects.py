"""Which records an event names, so that a key restricted on a family sees, and sends again,
only deliveries about the records it lists. Stored at publish (``Event.subjects``), never
parsed back from bodies."""

from __future__ import annotations

from functools import cache

from django.db.models import Q

from fibe_access.resources.registry import FAMILIES

from .events import BY_NAME, EVENTS


def named(event: str, data: dict) -> dict[str, int | None]:
    """``{family: id}`` of the records ``data`` names: the event's subject, and the records its
    family refers to (None when it refers to none)."""
    family = BY_NAME[event].family
    if family not in FAMILIES:  # about the account itself (api_key.*): no resource record
        return {}
    refers = FAMILIES[family].refers
    return {family: data["id"], **{other: data.get(attr) for attr, other in refers.items()}}


@cache
def carrying(family: str) -> tuple[str, ...]:
    """The events whose data can name a record of ``family``."""
    return tuple(
        e.name
        for e in EVENTS
        if e.family in FAMILIES
        and (e.family == family or family in FAMILIES[e.family].refers.values())
    )


def visible(restrictions: dict[str, list[int]] | None) -> Q:
    """The deliveries a key with ``restrictions`` may see: test sends (a fixed sample), and
    events that name no record of a restricted family outside its list. An event of such a
    family whose subjects were never recorded is not shown."""
    q = Q()
    for family, ids in (restrictions or {}).items():
        events = carrying(family)
        if events:
            q &= (
                Q(is_test=True)
                | ~Q(event__type__in=events)
                | Q(**{f"event__subjects__{family}__in": ids})
                | Q(**{f"event__subjects__{family}": None})
            )
    return q
