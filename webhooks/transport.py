"""Outbound HTTP for webhooks: HTTPS only, no redirects, bounded timeouts, and an SSRF guard.

The host is resolved once by ``requests-hardened``'s adapter, the address is vetted and the
connection made to that IP with the original Host header and TLS server name. The same rules
(applied to *every* resolved address) run when an endpoint is saved.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import EXTRA_BLOCKED_NET_RANGES, InvalidIPAddress

from . import deadline

METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
}


def _allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_TARGETS", False))


def address_refusal(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_loopback: bool
) -> str | None:
    """Why ``ip`` may not be a webhook target, or None if it may."""
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
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


def url_refusal(url: str, *, resolve: bool = True) -> str | None:
    """Why ``url`` may not be a webhook target, or None. Used at save time."""
    allow = _allow_private()
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
    if not resolve:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return f"The host {host} does not resolve."
    for info in infos:
        reason = address_refusal(ipaddress.ip_address(info[4][0]), allow_loopback=allow)
        if reason:
            return f"The host {host} resolves to {reason}, which is not allowed."
    return None


def validate_target_url(url: str) -> None:
    reason = url_refusal(url)
    if reason:
        raise ValidationError({"url": reason})


HEADER_LIMIT = 100  # response headers stored per attempt
HEADER_VALUE_LIMIT = 2000
BODY_LIMIT = 16 * 1024


@dataclass
class Response:
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    duration_ms: int = 0
    failure_reason: str = ""
    complete: bool = True  # False: the response was cut short (budget, truncated body)

    @property
    def ok(self) -> bool:
        return self.complete and self.status is not None and 200 <= self.status < 300


def storable(text: str, limit: int) -> str:
    """``text`` as PostgreSQL will store it in a text or jsonb column: no NUL characters, no
    lone surrogates, at most ``limit`` characters."""
    text = text[:limit].replace("\x00", "\ufffd")
    return text.encode("utf-8", errors="replace").decode("utf-8")


def storable_headers(headers) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in list(headers.items())[:HEADER_LIMIT]:
        out[storable(str(name), 200)] = storable(str(value), HEADER_VALUE_LIMIT)
    return out


class BudgetExceeded(BaseException):  # noqa: N818 - not an Exception: nothing may swallow it
    """The attempt's total time budget ran out (raised by SIGALRM in the sending thread)."""


@contextmanager
def _budget(seconds: float):
    """Interrupt whatever the main thread is blocked on after ``seconds`` (a receiver dribbling
    its headers or body one byte per read timeout). Outside the main thread (never the case in
    a Celery prefork child) only the per-read timeouts apply."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise BudgetExceeded

    # Someone else's alarm (pytest-timeout's, in the suite) is put back afterwards.
    previous = signal.signal(signal.SIGALRM, on_alarm)
    started = time.monotonic()
    earlier, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if earlier:
            left = max(earlier - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left)


_local = threading.local()


def _sessions() -> dict[bool, HTTPSession]:
    # Sessions are not shared between threads; each sending thread keeps its own pool.
    if not hasattr(_local, "sessions"):
        _local.sessions = {}
    return _local.sessions


def _session(allow_loopback: bool) -> HTTPSession:
    # One pooled session per worker thread: keep-alive to busy receivers.
    sessions = _sessions()
    if allow_loopback not in sessions:
        session = HTTPSession(
            Config(
                ip_filter_enable=True,
                ip_filter_allow_loopback_ips=allow_loopback,
                never_redirect=True,
                default_timeout=(5, 15),
                user_agent_override="Fibe-Webhooks/1",
            )
        )
        # No proxies or .netrc from the environment: the guard connects to the vetted IP
        # itself (and reading the environment on every request costs more than the request).
        session.trust_env = False
        deadline.install(session)
        sessions[allow_loopback] = session
    return sessions[allow_loopback]


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Response:
    """POST once within WEBHOOKS_ATTEMPT_BUDGET seconds in all; never raises, whatever the
    receiver does: every failure becomes a reason, and what is returned is storable."""
    started = time.monotonic()
    budget = float(getattr(settings, "WEBHOOKS_ATTEMPT_BUDGET", 0) or 0)
    got: dict = {}

    def done(**kwargs) -> Response:
        return Response(duration_ms=int((time.monotonic() - started) * 1000), **kwargs)

    refusal = url_refusal(url, resolve=False)
    if refusal:
        return done(status=None, failure_reason=f"Refused: {refusal}")
    cut_off = f"No complete response within the {budget:g} s attempt budget; cut off."
    if threading.current_thread() is not threading.main_thread():
        # A sending thread: the thread that started it cuts the socket at the deadline.
        with deadline.Deadline(budget) as limit:
            reason = _send(url, body, headers, got)
        if limit.cut:
            _sessions().clear()  # drop a pool that may hold the cut connection
            reason, got["complete"] = cut_off, False
    else:
        try:
            with _budget(budget):
                reason = _send(url, body, headers, got)
        except BudgetExceeded:
            _sessions().clear()  # drop a pool that may hold the interrupted connection
            reason, got["complete"] = cut_off, False
    status = got.get("status")
    if reason is None:
        if 300 <= status < 400:
            reason = f"Redirect ({status}) not followed: webhooks do not follow redirects."
        elif not 200 <= status < 300:
            reason = f"Receiver answered HTTP {status}."
        else:
            reason = ""
    return done(
        status=status,
        headers=storable_headers(got.get("headers") or {}),
        body=storable(got.get("body", b"").decode("utf-8", errors="replace"), BODY_LIMIT),
        failure_reason=storable(reason, 500),
        complete=got.get("complete", True),
    )


def _send(url: str, body: bytes, headers: dict[str, str], got: dict) -> str | None:
    """Send and read up to BODY_LIMIT bytes of the answer into ``got``; the failure reason,
    or None once a whole answer was read."""
    timeout = (settings.WEBHOOKS_CONNECT_TIMEOUT, settings.WEBHOOKS_READ_TIMEOUT)
    try:
        with _session(_allow_private()).post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
        ) as resp:
            got.update(status=resp.status_code, headers=resp.headers, complete=False)
            got["body"] = resp.raw.read(BODY_LIMIT, decode_content=True)
            got["complete"] = True
    except InvalidIPAddress as exc:
        host = urlsplit(url).hostname
        return (
            f"Refused: {host} resolves to {exc.args[0] if exc.args else 'an address'}, "
            "a private, loopback or reserved address."
        )
    except requests.exceptions.ConnectTimeout:
        return f"Connection timed out after {settings.WEBHOOKS_CONNECT_TIMEOUT} s."
    except requests.exceptions.ReadTimeout:
        return f"No response within {settings.WEBHOOKS_READ_TIMEOUT} s (read timeout)."
    except requests.exceptions.SSLError as exc:
        return f"TLS error: {_short(exc)}"
    except requests.exceptions.ConnectionError as exc:
        text = str(exc)
        if "Failed to resolve" in text or "Name or service not known" in text:
            return f"DNS lookup failed for {urlsplit(url).hostname}."
        if "refused" in text.lower():
            return "Connection refused."
        return f"Connection error: {_short(exc)}"
    except requests.exceptions.RequestException as exc:
        return f"Request failed: {_short(exc)}"
    except Exception as exc:  # noqa: BLE001 - urllib3/http.client errors reading the answer
        if "status" in got:
            return f"Response cut short after HTTP {got['status']}: {_short(exc)}"
        return f"Request failed: {type(exc).__name__}: {_short(exc)}"
    return None


def _short(exc: BaseException) -> str:
    return str(exc)[:300]
