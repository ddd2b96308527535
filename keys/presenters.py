"""What the key pages show, computed with a constant number of queries however many keys."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from fibe_access.resources.registry import restrictable

from . import scopes
from .models import ApiKey

ACTION_ORDER = ("read", "write", "delete", "manage")


@dataclass
class KeyCard:
    key: ApiKey
    status: str
    scope_groups: list[tuple[str, list[str]]] = field(default_factory=list)
    restrictions: list[tuple[str, list[str]]] = field(default_factory=list)
    old_token_until: datetime | None = None  # an overlapping rotation's old token stops then


def _group_scopes(names: list[str]) -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = defaultdict(list)
    narrow = []
    for name in names:
        head, _, action = name.partition(":")
        family = scopes.canonical_family(head)
        if family in scopes.FAMILIES and action in ACTION_ORDER:
            groups[scopes.FAMILIES[family]].append(action)
        else:
            narrow.append(name)
    out = [
        (label, sorted(actions, key=ACTION_ORDER.index))
        for label, actions in sorted(groups.items())
    ]
    if narrow:
        out.append(("Narrow", narrow))
    return out


def _resource_names(keys: list[ApiKey]) -> dict[str, dict[int, str]]:
    """One query per restricted family, for all keys at once."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for key in keys:
        for family, ids in (key.restrictions or {}).items():
            wanted[family].update(ids)
    names: dict[str, dict[int, str]] = {}
    for family, ids in wanted.items():
        target = restrictable(family)
        names[family] = (
            dict(target.model.objects.filter(pk__in=ids).values_list("pk", target.label_field))
            if target
            else {}
        )
    return names


def key_cards(keys: list[ApiKey]) -> list[KeyCard]:
    names = _resource_names(keys)
    now = timezone.now()
    cards = []
    for key in keys:
        restrictions = [
            (
                scopes.FAMILIES.get(family, family),
                [names.get(family, {}).get(i, f"#{i} (deleted)") for i in ids],
            )
            for family, ids in sorted((key.restrictions or {}).items())
        ]
        cards.append(
            KeyCard(
                key=key,
                status=key.current_status(now),
                scope_groups=_group_scopes(key.scopes),
                restrictions=restrictions,
                old_token_until=key.previous_expires_at if key.previous_usable(now) else None,
            )
        )
    return cards


def resource_choices(*, owner, limit: int = 500) -> dict[str, list[tuple[int, str]]]:
    """The owner's own resources per restrictable family (empty where they have none, so an
    ID sent for such a family is refused rather than ignored)."""
    out = {}
    for family in scopes.FAMILIES:
        target = restrictable(family)
        if target is None:
            continue
        label_field = target.label_field
        rows = list(
            target.model.objects.filter(owner=owner)
            .order_by(label_field, "pk")
            .values_list("pk", label_field)[:limit]
        )
        out[family] = [(pk, f"{label} (#{pk})") for pk, label in rows]
    return out


@dataclass
class PickerRow:
    family: str
    label: str
    options: list[dict]


def scope_picker(form) -> tuple[list[PickerRow], list[dict]]:
    """Rows of the scope picker (a family, its read/write/delete/manage) and the narrow
    scopes, each option with its catalogue help and whether it is ticked."""
    chosen = set(form.data.getlist("scopes")) if form.is_bound else set()
    rows = []
    for family, label in scopes.FAMILIES.items():
        options = [
            {
                "name": f"{family}:{a}",
                "action": a,
                "checked": f"{family}:{a}" in chosen,
                "help": scopes.help_text(f"{family}:{a}"),
            }
            for a in ACTION_ORDER
        ]
        rows.append(PickerRow(family=family, label=label, options=options))
    narrow = [
        {"name": s.name, "help": s.help, "checked": s.name in chosen, "family": s.family or ""}
        for s in scopes.NARROW
    ]
    return rows, narrow
