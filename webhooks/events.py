"""The event catalogue: the single source of truth for pages, API, publishing and tests.

Every event a family of ``fibe_access.resources.registry`` names (its ``create_event`` and
``delete_event``) must be here: the import fails naming the one that is missing.

Each event declares beside it the JSON Schema (draft 2020-12) of its ``data`` and an example
(``sample``); ``EventType.schema()`` is the whole payload's (the envelope every delivery
carries), published in the OpenAPI document's ``webhooks`` section, at
``GET /api/v1/webhooks/event-types`` and on the New Webhook page. An event declared without a
``data_schema`` gets one read off its sample (every field required, typed as the sample's)."""

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
    data_schema: dict | None = None  # JSON Schema of ``data``; None: derived from ``sample``

    @property
    def family(self) -> str:
        """The resource family the event is about (its ``data.id`` is one of its records)."""
        return f"{self.resource}s"

    def example(self) -> dict:
        """A whole payload as a delivery carries it."""
        return {"event": self.name, "timestamp": EXAMPLE_TIME, "data": self.sample}

    def schema(self) -> dict:
        """The JSON Schema (draft 2020-12) of the whole payload."""
        return {
            "$schema": DIALECT,
            "title": self.name,
            "description": self.description,
            "type": "object",
            "required": ["event", "timestamp", "data"],
            "properties": {
                "event": {"const": self.name},
                "timestamp": {"type": "string", "format": "date-time"},
                "data": self.data_schema or _derived(self.sample),
            },
            "examples": [self.example()],
        }


DIALECT = "https://json-schema.org/draft/2020-12/schema"
EXAMPLE_TIME = "2024-01-15T10:30:00Z"
_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"))


def _derived(sample: dict) -> dict:
    def typed(value) -> dict:
        for kind, name in _JSON_TYPES:
            if isinstance(value, kind):
                return {"type": name}
        return {}

    return {
        "type": "object",
        "required": sorted(sample),
        "properties": {k: typed(v) for k, v in sample.items()},
    }


def _data(status: dict, **extra: dict) -> dict:
    """The schema of ``data``: id, name and status, and a family's own fields."""
    properties = {
        "id": {"type": "integer", "description": "The record's ID"},
        "name": {"type": "string"},
        "status": status,
        **extra,
    }
    return {"type": "object", "required": list(properties), "properties": properties}


PLAYGROUND_STATUS = ("created", "running", "stopped", "expiring", "error", "destroyed")
PLAYGROUND = _data(
    {"enum": list(PLAYGROUND_STATUS)},
    playspec_id={"type": ["integer", "null"], "description": "The Playspec it runs, if any"},
    expires_at={"type": ["string", "null"], "format": "date-time"},
)
ACTIVE = _data({"const": "active"})
DELETED = _data({"const": "deleted"})


def _playground(status: str) -> dict:
    return {
        "id": 123,
        "name": "My Playground",
        "status": status,
        "playspec_id": 67,
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
        data_schema=PLAYGROUND,
    ),
    EventType(
        "playground.started",
        "playground",
        "A Playground starts running",
        _playground("running"),
        data_schema=PLAYGROUND,
    ),
    EventType(
        "playground.stopped",
        "playground",
        "A Playground is stopped",
        _playground("stopped"),
        data_schema=PLAYGROUND,
    ),
    EventType(
        "playground.destroyed",
        "playground",
        "A Playground is destroyed",
        _playground("destroyed"),
        data_schema=PLAYGROUND,
    ),
    EventType(
        "playground.error",
        "playground",
        "A Playground enters an error state",
        _playground("error"),
        data_schema=PLAYGROUND,
    ),
    EventType(
        "playground.expiring",
        "playground",
        "A Playground is about to expire",
        _playground("expiring"),
        data_schema=PLAYGROUND,
    ),
    EventType(
        "playground.recreated",
        "playground",
        "A Playground is recreated from scratch",
        _playground("running"),
        data_schema=PLAYGROUND,
    ),
    EventType(
        "playroom.created",
        "playroom",
        "A new Playroom is registered",
        {"id": 45, "name": "My Playroom", "status": "active"},
        data_schema=ACTIVE,
    ),
    EventType(
        "playroom.deleted",
        "playroom",
        "A Playroom is deleted",
        {"id": 45, "name": "My Playroom", "status": "deleted"},
        data_schema=DELETED,
    ),
    EventType(
        "playspec.created",
        "playspec",
        "A new Playspec is created",
        {"id": 67, "name": "My Playspec", "status": "active"},
        data_schema=ACTIVE,
    ),
    EventType(
        "playspec.deleted",
        "playspec",
        "A Playspec is deleted",
        {"id": 67, "name": "My Playspec", "status": "deleted"},
        data_schema=DELETED,
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


def openapi_webhooks() -> dict:
    """The OpenAPI 3.1 ``webhooks`` section: one POST per event, its payload's schema."""
    section = {}
    for event in EVENTS:
        schema = {k: v for k, v in event.schema().items() if k != "$schema"}
        section[event.name] = {
            "post": {
                "summary": event.description,
                "operationId": "webhook_" + event.name.replace(".", "_"),
                "tags": ["webhook events"],
                "description": "Sent to every endpoint subscribed to the event, signed with "
                "its secret (X-Playground-Signature and Standard Webhooks' headers).",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": schema, "example": event.example()}},
                },
                "responses": {"2XX": {"description": "Received; any other answer is retried."}},
            }
        }
    return section
