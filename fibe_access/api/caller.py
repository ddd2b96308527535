"""Who calls an operation: the API key it authenticated with, the Actor to pass to services,
and the key's restrictions. REST builds one from the request; MCP from its own session."""

from __future__ import annotations

from collections.abc import Callable
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
    # this site as the caller reached it, for links in answers (issue 22); a callable is asked
    # only when a link is written, so a request that needs none never validates its Host
    base: str | Callable[[], str] = ""

    @classmethod
    def for_key(
        cls,
        key: ApiKey,
        *,
        source: str = Source.API,
        ip: str | None = None,
        user_agent: str = "",
        origin: str | Callable[[], str] = "",
    ) -> Caller:
        """A caller acting as ``key``'s owner; ``source`` is Source.API or Source.MCP."""
        actor = Actor(
            user=key.owner, source=source, ip=ip, user_agent=user_agent[:300], api_key_id=key.pk
        )
        return cls(key=key, actor=actor, base=origin)

    @classmethod
    def from_request(cls, request) -> Caller:
        """For a request authenticated by ``keys.auth.ApiKeyAuth``."""
        return cls.for_key(
            request.api_key,
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            origin=lambda: f"{request.scheme}://{request.get_host()}",
        )

    @property
    def origin(self) -> str:
        return self.base() if callable(self.base) else self.base

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
