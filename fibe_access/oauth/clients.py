"""Who may ask for a grant. A client is named by a Client ID Metadata Document (its ``client_id``
is an HTTPS URL serving its metadata) or registered here (RFC 7591). Redirect URIs are HTTPS, or
plain HTTP on the loopback interface for apps on the person's own computer (RFC 8252 §7.3).

A metadata document is fetched through the webhook sender's SSRF guard (the same address
vetting, connecting to the vetted IP, no redirects), bounded in size and time, and kept for
OAUTH_CIMD_CACHE_SECONDS."""

from __future__ import annotations

import ipaddress
import json
import socket
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils import timezone
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress

from webhooks.engine.targets import address_refusal  # the webhook sender's address check

from .models import OAuthClient

LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
DOCUMENT_MAX_BYTES = 5 * 1024
DOCUMENT_TIMEOUT = (3, 5)
MAX_REDIRECT_URIS = 10
NAME_MAX = 100


class ClientRefused(Exception):  # noqa: N818 - reads as the outcome
    """A client that cannot be used; the message says why, for the person and the client."""


def is_metadata_url(client_id: str) -> bool:
    try:
        parts = urlsplit(client_id)
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.hostname) and parts.path not in ("", "/")


def redirect_uri_refusal(uri: object) -> str | None:
    """Why ``uri`` may not be a redirect URI, or None."""
    if not isinstance(uri, str) or not uri or len(uri) > 2000:
        return "A redirect URI must be a URL of at most 2000 characters."
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return f"{uri[:80]!r} is not a valid URL."
    if parts.fragment or "#" in uri:
        return "A redirect URI must not contain a fragment."
    if parts.username or parts.password:
        return "A redirect URI must not contain credentials."
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return None
    return (
        "Redirect URIs must use HTTPS, or http://127.0.0.1 (any port) for an app on your "
        "own computer."
    )


def clean_redirect_uris(uris: object) -> list[str]:
    if not isinstance(uris, list) or not uris or len(uris) > MAX_REDIRECT_URIS:
        raise ClientRefused(f"Give 1 to {MAX_REDIRECT_URIS} redirect_uris.")
    for uri in uris:
        reason = redirect_uri_refusal(uri)
        if reason:
            raise ClientRefused(reason)
    return list(dict.fromkeys(uris))


def clean_name(name: object, fallback: str) -> str:
    if not isinstance(name, str) or not name.strip():
        return fallback[:NAME_MAX]
    name = "".join(c for c in name.strip() if c.isprintable())
    return name[:NAME_MAX] or fallback[:NAME_MAX]


def is_loopback_client(client: OAuthClient) -> bool:
    return any(urlsplit(u).hostname in LOOPBACK_HOSTS for u in client.redirect_uris)


def client_for(client_id: str) -> OAuthClient | None:
    """The client ``client_id`` names: a metadata document's (fetched or kept), or one
    registered here. Raises ClientRefused when a metadata document cannot be used."""
    if not isinstance(client_id, str) or not client_id or len(client_id) > 500:
        return None
    if is_metadata_url(client_id):
        return _metadata_client(client_id)
    return OAuthClient.objects.filter(client_id=client_id, kind=OAuthClient.Kind.REGISTERED).first()


def _metadata_client(client_id: str) -> OAuthClient:
    kept = OAuthClient.objects.filter(client_id=client_id).first()
    fresh_for = timedelta(seconds=settings.OAUTH_CIMD_CACHE_SECONDS)
    if kept is not None and kept.fetched_at and timezone.now() - kept.fetched_at < fresh_for:
        return kept
    document = fetch_document(client_id)
    if document.get("client_id") != client_id:
        raise ClientRefused("The client metadata document names another client_id.")
    method = document.get("token_endpoint_auth_method", "none")
    if method != "none":
        raise ClientRefused("Only public clients (token_endpoint_auth_method none) are supported.")
    values = {
        "kind": OAuthClient.Kind.METADATA_DOCUMENT,
        "client_name": clean_name(document.get("client_name"), urlsplit(client_id).hostname),
        "client_uri": str(document.get("client_uri") or "")[:500],
        "redirect_uris": clean_redirect_uris(document.get("redirect_uris")),
        "fetched_at": timezone.now(),
    }
    client, _ = OAuthClient.objects.update_or_create(client_id=client_id, defaults=values)
    return client


def _allow_loopback() -> bool:
    return bool(settings.OAUTH_CIMD_ALLOW_LOOPBACK)


def _vet(url: str) -> None:
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ClientRefused("A client_id URL must not contain credentials.")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ClientRefused(f"The client's host {parts.hostname} does not resolve.") from None
    for info in infos:
        reason = address_refusal(ipaddress.ip_address(info[4][0]), allow_loopback=_allow_loopback())
        if reason:
            raise ClientRefused(
                f"The client's host {parts.hostname} resolves to {reason}: its metadata "
                "document cannot be fetched."
            )


def _session() -> HTTPSession:
    session = HTTPSession(
        Config(
            ip_filter_enable=True,
            ip_filter_allow_loopback_ips=_allow_loopback(),
            never_redirect=True,
            default_timeout=DOCUMENT_TIMEOUT,
            user_agent_override="Fibe-OAuth/1",
        )
    )
    session.trust_env = False
    return session


def fetch_document(url: str) -> dict:
    """The JSON object at ``url``, at most DOCUMENT_MAX_BYTES; raises ClientRefused."""
    _vet(url)
    verify = settings.OAUTH_CIMD_CA_BUNDLE or True
    try:
        with (
            _session() as session,
            session.get(
                url,
                headers={"Accept": "application/json"},
                timeout=DOCUMENT_TIMEOUT,
                allow_redirects=False,
                stream=True,
                verify=verify,
            ) as resp,
        ):
            if resp.status_code != 200:
                raise ClientRefused(
                    f"The client metadata document answered HTTP {resp.status_code}."
                )
            body = resp.raw.read(DOCUMENT_MAX_BYTES + 1, decode_content=True)
    except InvalidIPAddress:
        raise ClientRefused(
            "The client's host resolves to a private, loopback or reserved address."
        ) from None
    except requests.RequestException as exc:
        raise ClientRefused(
            f"The client metadata document could not be fetched ({type(exc).__name__})."
        ) from None
    if len(body) > DOCUMENT_MAX_BYTES:
        raise ClientRefused(f"The client metadata document is over {DOCUMENT_MAX_BYTES} bytes.")
    try:
        document = json.loads(body)
    except ValueError:
        raise ClientRefused("The client metadata document is not JSON.") from None
    if not isinstance(document, dict):
        raise ClientRefused("The client metadata document is not a JSON object.")
    return document
