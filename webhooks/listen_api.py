"""/api/v1/webhooks: the event catalogue, listen sessions (the polling API behind
`fibe listen`) and `fibe trigger`, declared with ``operation(...)``.

Imported by the AppConfig before ``webhooks.api``: its literal paths (``/webhooks/sessions``,
``/webhooks/event-types``, ``/webhooks/trigger``) must be routed before ``/webhooks/{id}``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from django.conf import settings
from ninja import Schema
from pydantic import ConfigDict, Field

from fibe_access.api.bodies import NO_NUL, In
from fibe_access.api.errors import Conflict, ScopeDenied, found
from fibe_access.api.operations import Restriction, operation

from . import listen, listen_log, samples, services
from .events import EVENT_NAMES, EVENTS
from .subjects import carrying

EventName = Literal[EVENT_NAMES]


class EventTypeOut(Schema):
    name: str
    resource: str
    description: str
    payload_schema: dict[str, Any]
    example: dict[str, Any]


class EventTypesOut(Schema):
    items: list[EventTypeOut]


class SessionIn(In):
    events: list[EventName] = Field(
        default_factory=list,
        max_length=50,
        description="Events to receive; none: every event the key could subscribe to.",
    )
    host: str = Field("", max_length=255, pattern=NO_NUL, description="Shown on the Webhooks page.")


class SessionOut(Schema):
    id: int
    host: str
    events: list[str]
    secret: str = Field(description="Signs X-Playground-Signature (GitHub's HMAC form).")
    standard_secret: str = Field(description="The same key as `whsec_…` (Standard Webhooks).")
    created_at: datetime
    ttl_seconds: int

    @staticmethod
    def resolve_secret(obj) -> str:
        return obj.signing_secret

    @staticmethod
    def resolve_standard_secret(obj) -> str:
        return listen.standard_secret(obj.signing_secret)

    @staticmethod
    def resolve_ttl_seconds(obj) -> int:
        return settings.WEBHOOKS_LISTEN_TTL


class PollIn(Schema):
    cursor: int = Field(0, ge=0, description="The `cursor` of the previous answer (0 at first).")
    wait: int = Field(25, ge=0, le=25, description="Seconds to wait for an event.")


class MessageOut(Schema):
    id: str = Field(description="The message id (`webhook-id`), the same on a resent answer.")
    seq: int
    event: str
    created_at: datetime
    headers: dict[str, str]
    body: str = Field(description="The exact bytes a delivery POSTs (UTF-8 JSON).")


class PollOut(Schema):
    events: list[MessageOut]
    cursor: int


class OutcomeIn(In):
    id: UUID = Field(description="The message's `id` (its `webhook-id`).")
    status: int | None = Field(
        ge=100, le=599, description="The local receiver's HTTP status; null: no answer."
    )
    duration_ms: int | None = Field(
        None, ge=0, le=3_600_000, description="Time of the last try, in milliseconds."
    )
    tries: int = Field(1, ge=1, le=100, description="How many times it was POSTed.")
    error: str = Field("", max_length=500, pattern=NO_NUL, description="Why it failed, if so.")


class ReportIn(In):
    # A message named twice in one report: the last outcome counts, as when a report is sent
    # again (a schema cannot say "unique by id", so the server does not refuse it).
    results: list[OutcomeIn] = Field(
        min_length=1,
        max_length=listen.MAX_BATCH,
        description="One outcome per message; a message named twice: the last one counts.",
    )


class ReportOut(Schema):
    recorded: int


class TriggerIn(In):
    # which names `set` takes depends on the event: said per kind of event (samples.py)
    model_config = ConfigDict(json_schema_extra={"anyOf": samples.set_schemas()})

    event: EventName
    set: dict[str, str] = Field(
        default_factory=dict,
        max_length=20,
        description='Fields of the event\'s data, e.g. {"data.status": "error"}: each named '
        "`field` or `data.field`, its text `null` or of the field's type (digits for an integer).",
    )


class TriggerOut(Schema):
    event: str
    endpoints: list[int]
    limited: list[int]
    sessions: int


@operation(
    "webhooks.event_types",
    "GET",
    "/webhooks/event-types",
    scope="webhooks:read",
    response=EventTypesOut,
    restriction=Restriction.HANDLER,  # the catalogue names no record
    summary="The event catalogue: each event's JSON Schema (draft 2020-12) and an example",
)
def event_types(caller):
    return {
        "items": [
            {
                "name": e.name,
                "resource": e.resource,
                "description": e.description,
                "payload_schema": e.schema(),
                "example": e.example(),
            }
            for e in EVENTS
        ]
    }


def allowed_events(caller, asked: list[str]) -> list[str]:
    """``asked`` (or every event) if the key could subscribe an endpoint to them: a key
    restricted on a resource family cannot receive events that name its records."""
    barred = {e for family in caller.restrictions for e in carrying(family)}
    refused = sorted(set(asked) & barred)
    if refused:
        raise ScopeDenied(
            "This API key is restricted on a resource family, so it cannot receive "
            f"{', '.join(refused)}."
        )
    return list(asked) or [e for e in EVENT_NAMES if e not in barred]


@operation(
    "webhooks.listen",
    "POST",
    "/webhooks/sessions",
    scope="webhooks:read",
    body=SessionIn,
    status=201,
    response=SessionOut,
    restriction=Restriction.CREATE,
    summary="Open a listen session: pull the account's events without a public URL",
    description="From now on the account's events are kept for the session; poll "
    "`GET /webhooks/sessions/{session_id}/events` with the last cursor to receive them, each "
    "with the body and headers a delivery has, signed with the session's secret. A session "
    "not polled for WEBHOOKS_LISTEN_TTL seconds ends; DELETE ends it at once.",
)
def session_open(caller, *, body):
    return listen.session_open(
        actor=caller.actor,
        owner=caller.owner,
        events=allowed_events(caller, body.events),
        host=body.host,
        key_label=caller.key.label,
    )


def _session(caller, session_id: int):
    return found(
        listen.session_get(
            owner=caller.owner, session_id=session_id, api_key_id=caller.actor.api_key_id
        )
    )


@operation(
    "webhooks.listen_events",
    "GET",
    "/webhooks/sessions/{session_id}/events",
    scope="webhooks:read",
    query=PollIn,
    response=PollOut,
    restriction=Restriction.HANDLER,
    summary="Long-poll a listen session's events after a cursor",
    description="Answers at once when events after `cursor` exist, else waits up to `wait` "
    "seconds. Send back the answer's `cursor`: events up to it are then forgotten; resending "
    "an old cursor answers the same events again (same ids), so none is lost or repeated. "
    "Only the key that opened the session can poll it.",
    conflict="409 `conflict` when `cursor` is one this session never handed out (ahead of "
    "its events).",
)
def session_poll(caller, *, session_id, query):
    session = _session(caller, session_id)
    if query.cursor >= session.next_seq:
        raise Conflict("cursor: this session never handed out that cursor.")
    events, cursor = listen.events_poll(session=session, cursor=query.cursor, wait=query.wait)
    return {"events": events, "cursor": cursor}


@operation(
    "webhooks.listen_report",
    "POST",
    "/webhooks/sessions/{session_id}/deliveries",
    scope="webhooks:read",
    body=ReportIn,
    response=ReportOut,
    restriction=Restriction.HANDLER,
    summary="Report what forwarding a listen session's events gave",
    description="Each message handed out by `GET /webhooks/sessions/{session_id}/events` is "
    "logged on Profile → Webhooks → CLI deliveries; report, by its `id`, the local receiver's "
    "status (null: no answer), the last try's duration, the number of tries and the error, and "
    "the log shows it as any endpoint's delivery. All or nothing. Sending a report again "
    "overwrites it. Only the key that opened the session can report for it.",
    conflict="409 `conflict` when a `results` id is one this session was never handed "
    "(nothing is recorded).",
)
def session_report(caller, *, session_id, body):
    session = _session(caller, session_id)
    outcomes = [
        listen_log.Outcome(
            id=r.id, status=r.status, duration_ms=r.duration_ms, tries=r.tries, error=r.error
        )
        for r in body.results
    ]
    try:
        return {"recorded": listen_log.outcomes_record(session=session, outcomes=outcomes)}
    except listen_log.UnknownMessages as exc:
        raise Conflict(f"results: this session was never handed the message(s) {exc}.") from None


@operation(
    "webhooks.listen_end",
    "DELETE",
    "/webhooks/sessions/{session_id}",
    scope="webhooks:read",
    status=204,
    restriction=Restriction.HANDLER,
    # it ends the caller's own transient session and loses nothing of value: a key with
    # "Confirm destructive actions" on ends it without asking a person (still a DELETE, so
    # MCP's destructiveHint stays true)
    approval=False,
    summary="End a listen session",
)
def session_close(caller, *, session_id):
    listen.session_close(actor=caller.actor, session=_session(caller, session_id))


@operation(
    "webhooks.trigger",
    "POST",
    "/webhooks/trigger",
    scope="webhooks:write",
    body=TriggerIn,
    status=202,
    response=TriggerOut,
    restriction=Restriction.HANDLER,
    summary="Send a sample event to the subscribed endpoints and live listen sessions",
    description="The sample from the catalogue, changed by `set`, marked as a test. "
    "Test sends are limited per endpoint per minute as Test Webhook's: an endpoint past it "
    "is skipped and listed in `limited`.",
)
def trigger(caller, *, body):
    data = samples.sample_with(body.event, body.set)
    return services.event_trigger(
        actor=caller.actor,
        owner=caller.owner,
        event=body.event,
        data=data,
        endpoint_ids=caller.restricted_ids("webhooks"),
    )
