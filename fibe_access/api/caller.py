"""Who calls an operation: the API key it authenticated with, the Actor to pass to services,
and the key's restrictions. REST builds one from the request; MCP from its own session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fibe_access.accounts.actor import Actor, Source, client_ip
from keys import scopes

if TYPE_CHECKING:
    from keys.models import ApiKey


@dataclass(frozen=True)
class Caller:
    key: ApiKey
    actor: Actor
    origin: str = ""  # this site as the caller reached it, for links in answers (issue 22)

    @classmethod
    def for_key(
        cls,
        key: ApiKey,
        *,
        source: str = Source.API,
        ip: str | None = None,
        user_agent: str = "",
        origin: str = "",
    ) -> Caller:
        """A caller acting as ``key``'s owner; ``source`` is Source.API or Source.MCP."""
        actor = Actor(
            user=key.owner, source=source, ip=ip, user_agent=user_agent[:300], api_key_id=key.pk
        )
        return cls(key=key, actor=actor, origin=origin)

    @classmethod
    def from_request(cls, request) -> Caller:
        """For a request authenticated by ``keys.auth.ApiKeyAuth``."""
        return cls.for_key(
            request.api_key,
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            origin=f"{request.scheme}://{request.get_host()}",
        )

    @property
    def owner(self):
        return self.key.owner

    @property
    def source(self) -> str:
        return self.actor.source

    def permits(self, scope: str) -> bool:
        return scopes.permits(self.key.scopes, scope)

    @property
    def restrictions(self) -> dict[str, list[int]]:
        """Every restriction of the key, ``{family: [IDs]}``; empty when it has none."""
        return {scopes.canonical_family(f): list(ids) for f, ids in self.key.restrictions.items()}

    def restricted_ids(self, family: str) -> list[int] | None:
        """The IDs the key is narrowed to on ``family``, or None when it is not restricted."""
        ids = self.key.restrictions.get(scopes.canonical_family(family))
        return list(ids) if ids is not None else None
