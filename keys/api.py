"""/api/v1/me: the calling key describes itself (any valid key; no scope needed)."""

from ninja import Schema
from pydantic import AwareDatetime

from fibe_access.api.operations import operation


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
