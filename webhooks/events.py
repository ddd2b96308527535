"""The event catalogue: the single source of truth for pages, API, publishing and tests.

Every event a family of ``fibe_access.resources.registry`` names (its ``create_event`` and
``delete_event``) must be here: the import fails naming the one that is missing."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured

from fibe_access.resources.registry import FAMILIES


@dataclass(frozen=True)
class EventType:
    name: str
    resource: str
    description: str
    sample: dict = field(default_factory=dict)

    @property
    def family(self) -> str:
        """The resource family the event is about (its ``data.id`` is one of its records)."""
        return f"{self.resource}s"


def _playground(status: str) -> dict:
    return {
        "id": 123,
        "name": "My Playground",
        "status": status,
        "expires_at": "2024-01-15T18:30:00Z",
    }


def _api_key(status: str, **extra) -> dict:
    return {
        "id": 17,
        "name": "CI/CD Pipeline",
        "label": "CI/CD Pipeline",
        "status": status,
        "last4": "x9Qz",
        "expires_at": "2024-01-15T18:30:00Z",
        **extra,
    }


EVENTS: tuple[EventType, ...] = (
    EventType(
        "playground.created",
        "playground",
        "A Playground is successfully created",
        _playground("running"),
    ),
    EventType(
        "playground.started", "playground", "A Playground starts running", _playground("running")
    ),
    EventType(
        "playground.stopped", "playground", "A Playground is stopped", _playground("stopped")
    ),
    EventType(
        "playground.destroyed", "playground", "A Playground is destroyed", _playground("destroyed")
    ),
    EventType(
        "playground.error", "playground", "A Playground enters an error state", _playground("error")
    ),
    EventType(
        "playground.expiring",
        "playground",
        "A Playground is about to expire",
        _playground("running"),
    ),
    EventType(
        "playground.recreated",
        "playground",
        "A Playground is recreated from scratch",
        _playground("running"),
    ),
    EventType(
        "playroom.created",
        "playroom",
        "A new Playroom is registered",
        {"id": 45, "name": "My Playroom", "status": "active"},
    ),
    EventType(
        "playroom.deleted",
        "playroom",
        "A Playroom is deleted",
        {"id": 45, "name": "My Playroom", "status": "deleted"},
    ),
    EventType(
        "playspec.created",
        "playspec",
        "A new Playspec is created",
        {"id": 67, "name": "My Playspec", "status": "active"},
    ),
    EventType(
        "playspec.deleted",
        "playspec",
        "A Playspec is deleted",
        {"id": 67, "name": "My Playspec", "status": "deleted"},
    ),
    EventType(
        "api_key.expiring",
        "api_key",
        "An API key expires in 7 days, then in 1 day (never carries the token)",
        _api_key("active", expires_in_days=7),
    ),
    EventType(
        "api_key.expired",
        "api_key",
        "An API key has expired (never carries the token)",
        _api_key("expired"),
    ),
)

BY_NAME: dict[str, EventType] = {e.name: e for e in EVENTS}


def missing(families=FAMILIES) -> list[str]:
    """The events the families name that the catalogue does not hold, each said in full."""
    return [
        f"fibe_access.resources.registry: the family {fam.name!r} publishes {name!r}; add an "
        "EventType for it to webhooks/events.py EVENTS"
        for fam in families.values()
        for name in (fam.create_event, fam.delete_event)
        if name and name not in BY_NAME
    ]


if missing():
    raise ImproperlyConfigured("; ".join(missing()))
EVENT_NAMES: tuple[str, ...] = tuple(BY_NAME)
TEST_EVENT = "playground.created"


def grouped() -> dict[str, list[EventType]]:
    """Events by resource, in catalogue order (for pages and docs)."""
    groups: dict[str, list[EventType]] = {}
    for event in EVENTS:
        groups.setdefault(event.resource, []).append(event)
    return groups


def choices() -> list[tuple[str, str]]:
    return [(e.name, e.name) for e in EVENTS]
