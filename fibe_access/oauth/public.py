"""This site's public URLs as OAuth names them: the issuer, the protected resources and their
metadata, and the ``WWW-Authenticate`` challenges that point to them. They come from
``PUBLIC_URL`` when it is set (behind a proxy), else from the request (``make run``)."""

from __future__ import annotations

from django.conf import settings

# The protected resources, by the name a token is bound to: their paths on this site.
RESOURCES = {"mcp": "/mcp", "mcp/readonly": "/mcp/readonly", "api": "/api/v1"}
MCP_SCOPE = "mcp:access"


def base_url(request) -> str:
    configured = (getattr(settings, "PUBLIC_URL", "") or "").rstrip("/")
    if configured:
        return configured
    return f"{request.scheme}://{request.get_host()}"


def issuer(request) -> str:
    return base_url(request)


def resource_url(request, name: str) -> str:
    return base_url(request) + RESOURCES[name]


def resource_named(request, url: str | None) -> str | None:
    """The name of the resource ``url`` is (one trailing slash tolerated), or None."""
    if not url:
        return None
    wanted = url.rstrip("/")
    for name in RESOURCES:
        if resource_url(request, name) == wanted:
            return name
    return None


def metadata_url(request, name: str) -> str:
    return f"{base_url(request)}/.well-known/oauth-protected-resource{RESOURCES[name]}"


def challenge(request, name: str, *, error: str = "", scope: str = MCP_SCOPE) -> str:
    """The ``WWW-Authenticate`` value of a 401 (or, with ``error``, a 403) from resource
    ``name``: where its metadata is and the scope it needs (RFC 9728 §5.1, RFC 6750 §3)."""
    parts = [f'resource_metadata="{metadata_url(request, name)}"', f'scope="{scope}"']
    if error:
        parts.insert(0, f'error="{error}"')
    return "Bearer " + ", ".join(parts)
