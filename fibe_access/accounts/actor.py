"""Who is acting, from where: every service takes one, so audit rows and step-up checks
need nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.http import url_has_allowed_host_and_scheme

from . import stepup

if TYPE_CHECKING:
    from .models import User


class Source:
    WEB = "web"  # a signed-in person in the browser: step-up applies
    ADMIN = "admin"  # staff in the OTP-gated admin
    API = "api"  # a request authenticated with an API key
    MCP = "mcp"  # an MCP tool call authenticated with an API key
    CLI = "cli"  # an operator at a server shell
    SYSTEM = "system"  # Celery tasks and other internal work


@dataclass(frozen=True)
class Actor:
    user: User | None
    source: str = Source.SYSTEM
    ip: str | None = None
    user_agent: str = ""
    stepped_up: bool = False
    api_key_id: int | None = None  # the key a request or tool call was authenticated with

    @classmethod
    def from_request(cls, request, *, source: str = Source.WEB) -> Actor:
        user = (
            request.user
            if getattr(request, "user", None) and request.user.is_authenticated
            else None
        )
        return cls(
            user=user,
            source=source,
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
            stepped_up=stepup.is_recent(request) if hasattr(request, "session") else False,
        )

    @classmethod
    def system(cls) -> Actor:
        return cls(user=None, source=Source.SYSTEM)

    def require_step_up(self) -> None:
        """Defence in depth: a web actor must have passed a step-up recently."""
        if self.source == Source.WEB and not self.stepped_up:
            raise stepup.StepUpRequired()


def client_ip(request) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is spoofable unless a trusted proxy rewrites it,
    # and that proxy should then set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") or None


def safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        return default
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
