"""The HTTP of one attempt: HTTPS only (unless WEBHOOKS_ALLOW_PRIVATE_TARGETS), no redirects,
connect and read timeouts, the per-attempt deadline in whatever thread sends (``deadline``), the
address check of ``targets`` on the very address connected to, and the answer's body read and
decoded within our own bounds (``body``). ``post`` never raises and returns what is storable."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests_hardened import Config, HTTPSession
from urllib3.util.connection import allowed_gai_family

from . import body as bodies
from . import deadline, targets

HEADER_LIMIT = 100  # response headers stored per attempt
HEADER_VALUE_LIMIT = 2000
BODY_LIMIT = bodies.BODY_LIMIT


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


class _VettedAdapter(HTTPAdapter):
    """Resolves the host once, has ``targets.vetted_address`` approve every address, and
    connects to the approved one with the original Host header and TLS server name (the shape
    of requests-hardened's IPFilterAdapter, with our check). Its pools carry the deadline."""

    def __init__(self):
        super().__init__()
        deadline.install(self)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host, port = host_params["host"], host_params["port"]
        request.headers = CaseInsensitiveDict(request.headers or {})
        shown = f"[{host}]" if ":" in host else host
        request.headers["Host"] = shown if port is None else f"{shown}:{port}"
        if host_params["scheme"] == "https":
            pool_kwargs["assert_hostname"] = pool_kwargs["server_hostname"] = host
        try:
            ip = targets.vetted_address(host, port, family=allowed_gai_family())
        except targets.Unresolvable as exc:
            raise requests.exceptions.ConnectionError(f"Failed to resolve {host}") from exc
        host_params["host"] = str(ip) if ip.version == 4 else f"[{ip}]"
        return host_params, pool_kwargs


_local = threading.local()


def _session() -> HTTPSession:
    # Sessions are not shared between threads; each sending thread keeps its own pool
    # (keep-alive to busy receivers).
    session = getattr(_local, "session", None)
    if session is None:
        session = HTTPSession(
            Config(
                ip_filter_enable=False,  # ours instead: _VettedAdapter
                ip_filter_allow_loopback_ips=False,
                never_redirect=True,
                default_timeout=(5, 15),
                user_agent_override="Fibe-Webhooks/1",
            )
        )
        # No proxies or .netrc from the environment: the adapter connects to the vetted IP
        # itself (and reading the environment on every request costs more than the request).
        session.trust_env = False
        # Only codings ``body`` undoes (requests would offer br and zstd when installed).
        session.headers["Accept-Encoding"] = bodies.ACCEPT_ENCODING
        for prefix in ("http://", "https://"):
            session.mount(prefix, _VettedAdapter())
        _local.session = session
    return session


def _session_post(url: str, body: bytes, headers: dict[str, str], timeout) -> requests.Response:
    """POST through this thread's session's adapter (the vetted address, the deadline) without
    the rest of ``Session.request``: no cookie jar (a receiver's ``Set-Cookie`` is never sent
    on to the next endpoint of the same host, whichever account it belongs to), no redirects,
    no proxies, no hooks. Merging session settings and cookies was a tenth of a busy worker's
    CPU. The answer is streamed: ``_send`` reads its body within ``body``'s bounds."""
    session = _session()
    request = requests.PreparedRequest()
    request.prepare_method("POST")
    request.prepare_url(url, None)
    request.prepare_headers({**session.headers, **headers})
    request.prepare_body(body, None)
    adapter = session.get_adapter(url)
    return adapter.send(request, stream=True, timeout=timeout, verify=True, cert=None, proxies={})


def _drop_session() -> None:
    """After a cut: a pool that may hold the cut connection is not used again."""
    session = getattr(_local, "session", None)
    _local.session = None
    if session is not None:
        session.close()


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Response:
    """POST once within WEBHOOKS_ATTEMPT_BUDGET seconds in all; never raises, whatever the
    receiver does: every failure becomes a reason, and what is returned is storable."""
    started = time.monotonic()
    budget = float(getattr(settings, "WEBHOOKS_ATTEMPT_BUDGET", 0) or 0)
    got: dict = {}

    def done(**kwargs) -> Response:
        return Response(duration_ms=int((time.monotonic() - started) * 1000), **kwargs)

    refusal = targets.url_refusal(url, resolve=False)
    if refusal:
        return done(status=None, failure_reason=f"Refused: {refusal}")
    with deadline.Deadline(budget) as limit:
        reason = _send(url, body, headers, got)
    if limit.cut:
        _drop_session()
        reason = f"No complete response within the {budget:g} s attempt budget; cut off."
        got["complete"] = False
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
    """Send and read the answer (its body within ``body``'s bounds) into ``got``; the failure
    reason, or None once a whole answer was read."""
    timeout = (settings.WEBHOOKS_CONNECT_TIMEOUT, settings.WEBHOOKS_READ_TIMEOUT)
    try:
        with _session_post(url, body, headers, timeout) as resp:
            got.update(status=resp.status_code, headers=resp.headers, complete=False)
            got["body"] = bodies.read(resp.raw, resp.headers.get("Content-Encoding", ""))
            got["complete"] = True
    except targets.TargetRefused as exc:
        return f"Refused: {exc}"
    except bodies.Undecodable as exc:
        return f"Undecodable response body after HTTP {got['status']}: {exc}"
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
