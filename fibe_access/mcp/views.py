"""/mcp and /mcp/readonly: a plain Django view that authenticates the Bearer key exactly as
the API does (``keys.auth.key_authenticate``: checksum before the database, key cache, rate
limit, last used), requires ``mcp:access``, reads the narrowing the client asked for, and then
hands the request to the SDK (``fibe_access.mcp.server``).

Narrowing: ``/mcp/readonly`` or ``X-MCP-Readonly: 1`` keeps only reads; ``?toolsets=a,b`` or
``X-MCP-Toolsets: a,b`` keeps only those groups (``whoami`` stays). Both only remove tools.

``Origin`` is checked first, as the MCP transport spec asks (DNS rebinding): absent (every
non-browser client) it is served; present, it must be one of MCP_ALLOWED_ORIGINS, else 403."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from fibe_access.accounts.actor import Source, client_ip
from fibe_access.api import bodies, errors
from fibe_access.api.caller import Caller
from fibe_access.api.errors import ApiError, ScopeDenied
from fibe_access.oauth import public
from keys.auth import bearer_token, key_authenticate

from . import server, tools

SCOPE = "mcp:access"
TRUE = {"1", "true", "yes", "on"}


class UnknownToolset(ApiError):  # noqa: N818
    status = 400
    code = "unknown_toolset"


class OriginNotAllowed(ApiError):  # noqa: N818
    status = 403
    code = "origin_not_allowed"


@csrf_exempt
def mcp_endpoint(request, readonly: bool = False):
    origin = request.META.get("HTTP_ORIGIN")
    if origin is not None and not origin_allowed(origin):
        message = "Requests from this Origin may not call the MCP server (MCP_ALLOWED_ORIGINS)."
        return _error(403, OriginNotAllowed.code, message)
    if request.method != "POST":
        response = _error(405, "method_not_allowed", "Send MCP messages with POST.")
        response["Allow"] = "POST"
        return response
    try:
        caller, usage = _authenticate(request, readonly)
        narrowing = _narrowing(request, readonly)
        payload = _body(request)
    except ApiError as exc:
        found = errors.answer(exc)
        response = _error(found.status, found.code, found.message)
        for name, value in found.headers.items():
            response[name] = value
        # OAuth discovery (RFC 9728 §5.1): where this resource's metadata is, the scope needed
        resource = "mcp/readonly" if readonly else "mcp"
        if found.status == 401:
            response["WWW-Authenticate"] = public.challenge(request, resource)
        elif found.status == 403 and found.code == "insufficient_scope":
            response["WWW-Authenticate"] = public.challenge(
                request, resource, error="insufficient_scope"
            )
        return response
    status, headers, body = async_to_sync(server.serve)(
        server.build(caller, narrowing), _scope(request), payload
    )
    response = HttpResponse(body, status=status)
    for name, value in headers:
        if name.lower() in (b"content-type", b"mcp-session-id", b"allow"):
            response[name.decode("latin-1")] = value.decode("latin-1")
    for name, value in usage.headers().items():
        response[name] = value
    return response


def origin_allowed(origin: str) -> bool:
    """Whether a browser page of ``origin`` may call /mcp: listed in MCP_ALLOWED_ORIGINS
    (scheme and host compared without case; "null" and anything else unlisted are refused)."""
    wanted = origin.strip().rstrip("/").lower()
    return any(wanted == o.strip().rstrip("/").lower() for o in settings.MCP_ALLOWED_ORIGINS)


def _authenticate(request, readonly: bool = False):
    ip = client_ip(request)
    resource = "mcp/readonly" if readonly else "mcp"
    key, usage = key_authenticate(bearer_token(request), ip=ip, resource=resource)
    caller = Caller.for_key(
        key,
        source=Source.MCP,
        ip=ip,
        user_agent=request.headers.get("User-Agent", ""),
        origin=public.base_url(request),  # issue 22: links to confirmation pages
    )
    if not caller.permits(SCOPE):
        raise ScopeDenied(f"This API key lacks the scope '{SCOPE}' needed for the MCP server.")
    return caller, usage


def _narrowing(request, readonly: bool) -> tools.Narrowing:
    readonly = readonly or request.headers.get("X-MCP-Readonly", "").strip().lower() in TRUE
    raw = request.GET.get("toolsets") or request.headers.get("X-MCP-Toolsets", "")
    names = {n.strip() for n in raw.split(",") if n.strip()}
    if not names:
        return tools.Narrowing(read_only=readonly)
    unknown = names - tools.toolsets()
    if unknown:
        shown = ", ".join(sorted(repr(n[:40]) for n in unknown)[:5])
        raise UnknownToolset(
            f"Unknown toolset {shown}. Toolsets: {', '.join(sorted(tools.toolsets()))}."
        )
    return tools.Narrowing(read_only=readonly, toolsets=frozenset(names))


def _body(request) -> bytes:
    """The JSON-RPC message within the API's bounds on a body (400/413 otherwise)."""
    if bodies.read(request, bodies.JsonParser()) is None:
        raise bodies.BadBody("Send a JSON-RPC message as the body.")
    return request.body


def _scope(request) -> dict:
    """The ASGI scope of this request, as the SDK's transport reads it."""
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in request.headers.items()
        if name.lower() != "authorization"  # the key stays here: tools get a Caller
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": request.scheme,
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": request.META.get("QUERY_STRING", "").encode("latin-1"),
        "root_path": "",
        "headers": headers,
        "client": (client_ip(request) or "", 0),
        "server": (request.get_host(), int(request.get_port() or 80)),
    }


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)
