"""What `fibe trigger --set` may change in an event's sample: a field of its ``data`` (named
``field`` or ``data.field``), given as text the field's type reads. The same patterns are the
schema of ``set`` (``set_schemas``, one branch per kind of event, so an agent and a fuzzer see
which names each event takes) and the check ``sample_with`` makes: schema and server agree."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from fibe_access.api.bodies import NO_NUL

from .events import BY_NAME, EVENTS

NULL = "null"  # any field: sent as JSON null
INTEGER = r"^(?:null|-?[0-9]{1,18})$"
PATTERNS = {int: INTEGER, str: NO_NUL}


def fields_of(event: str) -> dict[str, str]:
    """The names ``set`` takes for ``event`` (``field`` and ``data.field``), each with the
    pattern of its text."""
    names = {}
    for field, value in BY_NAME[event].sample.items():
        pattern = PATTERNS[type(value)]
        names[field] = names[f"data.{field}"] = pattern
    return names


def set_schemas() -> list[dict]:
    """One schema per kind of event (events whose samples have the same fields): the body's
    ``event`` among them and its ``set`` naming only their fields, each text of its pattern."""
    kinds: dict[tuple, list[str]] = {}
    for event in EVENTS:
        kinds.setdefault(tuple(fields_of(event.name).items()), []).append(event.name)
    return [
        {
            "properties": {
                "event": {"enum": names},
                "set": {
                    "type": "object",
                    "properties": {
                        name: {"type": "string", "pattern": pattern} for name, pattern in fields
                    },
                    "additionalProperties": False,
                },
            },
        }
        for fields, names in kinds.items()
    ]


def sample_with(event: str, changes: dict[str, str]) -> dict:
    """The catalogue's sample ``data`` of ``event`` with ``changes`` ({"status": "error"}, from
    ``--set data.status=error``) applied: only fields the sample has, each kept of its type."""
    sample = BY_NAME[event].sample
    data, names = dict(sample), fields_of(event)
    for name, text in changes.items():
        field = name.removeprefix("data.")
        if name not in names:
            raise ValidationError({"set": f"{event} has no field {field[:80]!r} in data."})
        kind = type(sample[field])  # the sample's type (a change before may have set null)
        if not re.fullmatch(names[name], text):
            raise ValidationError({"set": f"data.{field} must be {kind.__name__} (or null)."})
        data[field] = None if text == NULL else kind(text)
    return data
