"""/api/v1/me: the calling key describes itself, and lists what it did (any valid key; no scope
needed)."""

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import AwareDatetime, Field

from fibe_access.api.operations import operation
from fibe_access.api.pagination import PageIn, page_of, paginate

from . import activity_selectors
from .activity_model import KeyActivity


class MeOut(Schema):
    id: int
    label: str
    scopes: list[str]
    restrictions: dict[str, list[int]]
    expires_at: AwareDatetime | None
    is_agent: bool
    rate_limit_per_minute: int
    owner_email: str


@operation("me", "GET", "/me", scope=None, response=MeOut, summary="Describe the calling key")
def me(caller):
    key = caller.key
    return {
        "id": key.pk,
        "label": key.label,
        "scopes": key.scopes,
        "restrictions": key.restrictions,
        "expires_at": key.expires_at,
        "is_agent": key.is_agent,
        "rate_limit_per_minute": key.effective_rate_limit,
        "owner_email": key.owner.email,
    }


class ActivityOut(Schema):
    at: datetime
    door: KeyActivity.Door
    operation: str
    record_id: int | None
    status: int
    duration_ms: int
    ip: str | None


ActivityPage = page_of(ActivityOut, "ActivityPage")


class ActivityFilter(PageIn):
    door: KeyActivity.Door | None = None
    outcome: Literal["succeeded", "failed"] | None = None
    operation: str | None = Field(None, max_length=64)


@operation(
    "me.activity",
    "GET",
    "/me/activity",
    scope=None,
    query=ActivityFilter,
    response=ActivityPage,
    summary="List what the calling key did",
    description="Its REST requests and MCP tool calls of the last "
    "API_ACTIVITY_RETENTION (30 days by default), newest first: when, through which door "
    "(rest, cli or mcp), the operation, the record, the status, the duration and the client "
    "address. Recorded off the request path: a call shows here within a few seconds.",
)
def me_activity(caller, query: ActivityFilter):
    qs = activity_selectors.activity_list(
        key_id=caller.key.pk, door=query.door, outcome=query.outcome, operation=query.operation
    )
    return paginate(qs, query, field="at")
