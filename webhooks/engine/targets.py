"""Where a webhook may be sent. One check of a host's addresses, ``host_refusal``, runs when an
endpoint is saved and again at every send, after DNS, on the addresses the connection is then
made to (``transport`` connects to the address this module approved, never resolving twice).

A host that does not resolve when an endpoint is saved is accepted (``host_refusal``): the
sends check it when it does.

Private, loopback, link-local, multicast, reserved and cloud-metadata addresses are refused,
also when written inside an IPv6 address (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible
``::a.b.c.d``, SIIT ``::ffff:0:a.b.c.d``, NAT64, 6to4, Teredo): the embedded IPv4 address is
checked as well as the IPv6 one. ``WEBHOOKS_ALLOW_PRIVATE_TARGETS`` lets development and tests
use loopback and plain HTTP; metadata and the rest stay refused."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from requests_hardened.ip_filter import EXTRA_BLOCKED_NET_RANGES

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
}
_EMBEDDING = (  # IPv6 ranges whose last 32 bits are an IPv4 address
    ipaddress.ip_network("::/96"),  # IPv4-compatible (deprecated, still routed by some stacks)
    ipaddress.ip_network("::ffff:0:0:0/96"),  # SIIT, IPv4-translated
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64
)


def allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_TARGETS", False))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client's address
    if any(ip in net for net in _EMBEDDING) and int(ip) & 0xFFFFFFFF > 1:  # not :: or ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(ip: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why ``ip`` may not be a webhook target, or None if it may."""
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # the very IPv4 address, as the kernel connects to it
    elif ip.version == 6 and (inner := _embedded_ipv4(ip)) is not None:
        reason = address_refusal(inner, allow_loopback=allow_loopback)
        if reason:
            return reason
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return "a private or reserved address"
    if any(ip in net for net in EXTRA_BLOCKED_NET_RANGES):
        return "a private or reserved address"
    return None


class TargetRefused(Exception):
    """The host resolves to an address webhooks may not be sent to (the message says which)."""


class Unresolvable(Exception):
    """The host does not resolve."""


def vetted_address(host: str, port: int | None, *, family: int = 0) -> IPAddress:
    """Resolve ``host`` once and return the address to connect to, if every address it
    resolves to may be a webhook target; else raise ``TargetRefused`` (or ``Unresolvable``)."""
    try:
        infos = socket.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"The host {host} does not resolve.") from exc
    addresses = [ipaddress.ip_address(info[4][0].partition("%")[0]) for info in infos]
    for ip in addresses:
        reason = address_refusal(ip, allow_loopback=allow_private())
        if reason:
            raise TargetRefused(f"The host {host} resolves to {reason}, which is not allowed.")
    return addresses[0]


def host_refusal(host: str, port: int | None) -> str | None:
    """Why ``host`` may not be saved as a webhook's host, or None. A host that does not
    resolve (yet: DNS set up after the endpoint, as Svix and Stripe allow) is no refusal: its
    deliveries fail, logged and retried ("DNS lookup failed"), until it resolves, and then the
    send checks the addresses it resolves to, as every send does. A literal address or a host
    that resolves now to one webhooks may not reach is refused."""
    try:
        vetted_address(host, port)
    except TargetRefused as exc:
        return str(exc)
    except Unresolvable:
        return None
    return None


def url_refusal(url: str, *, resolve: bool = True) -> str | None:
    """Why ``url`` may not be a webhook target, or None. At save, with ``resolve``; at send the
    transport checks the addresses itself, on the connection it makes."""
    allow = allow_private()
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "The URL is not valid."
    if parts.scheme != "https" and not (allow and parts.scheme == "http"):
        return "The URL must use HTTPS."
    host = parts.hostname
    if not host:
        return "The URL has no host."
    if parts.username or parts.password:
        return "The URL must not contain credentials."
    return host_refusal(host, port) if resolve else None


def validate_target_url(url: str) -> None:
    reason = url_refusal(url)
    if reason:
        raise ValidationError({"url": reason})
