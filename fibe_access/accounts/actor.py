"""Who is acting, from where: every service takes one, so audit rows and step-up checks
need nothing else."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
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


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_ip(request) -> str | None:
    """The address of the client, for every per-IP control, audit row and allow-list:
    REMOTE_ADDR, unless that peer is one of TRUSTED_PROXIES; then the right-most
    X-Forwarded-For hop that is not a trusted proxy (each proxy appends the peer it saw, so
    hops left of that one are the client's own word). Every hop a trusted proxy: the left-most.
    A request asks this several times (authentication, audit, activity): the answer is a pure
    function of the two headers and the setting, so it is worked out once per distinct input."""
    meta = request.META
    return _client_ip(
        meta.get("REMOTE_ADDR", ""),
        meta.get("HTTP_X_FORWARDED_FOR", ""),
        tuple(settings.TRUSTED_PROXIES),
    )


@functools.lru_cache(maxsize=256)
def _client_ip(remote_addr: str, forwarded_for: str, trusted: tuple[str, ...]) -> str | None:
    remote = _address(remote_addr)
    if remote is None:
        return remote_addr or None
    proxies = _trusted_proxies(trusted)
    if not proxies or not _within(remote, proxies):
        return str(remote)
    client = remote
    for hop in reversed(forwarded_for.split(",")):
        address = _address(hop)
        if address is None:  # not an address: nothing left of it can be believed
            break
        client = address
        if not _within(address, proxies):
            break
    return str(client)


def ip_bucket(ip: str | None) -> str:
    """What a per-IP limit counts: an IPv4 address, or the /64 an IPv6 address is in (one
    subscriber usually holds a whole /64)."""
    address = _address(ip or "")
    if address is None:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
    return str(address)


def _address(raw: str) -> Address | None:
    """An address as a proxy may write it ("1.2.3.4", "1.2.3.4:5678", "[::1]:80", "::1"), an
    IPv4-mapped IPv6 address as IPv4; None when it is none."""
    raw = raw.strip()
    if raw.startswith("["):
        raw = raw[1 : raw.find("]")] if "]" in raw else ""
    elif raw.count(":") == 1:
        raw = raw.partition(":")[0]
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@functools.lru_cache(maxsize=8)
def _trusted_proxies(cidrs: tuple[str, ...]) -> tuple:
    try:
        return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}") from exc


def _within(address: Address, networks: tuple) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        return default
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
