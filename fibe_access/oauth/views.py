"""Discovery documents, the authorization (consent) page, the token and registration endpoints,
and revoking a connected app. Each calls the Authlib server (``server``) or one service."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749.errors import OAuth2Error
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fibe_access.accounts.actor import Actor, client_ip
from fibe_access.accounts.pages import Confirm, confirmed_action
from fibe_access.accounts.stepup import step_up_required
from keys import presenters, scopes

from . import clients, public, selectors, services
from .forms import ConsentForm, offered_scopes
from .server import Server

RESOURCE_NAMES = {
    "mcp": "Fibe MCP server",
    "mcp/readonly": "Fibe MCP server (read-only)",
    "api": "Fibe API",
}


def _json(data: dict, status: int = 200, **headers) -> JsonResponse:
    response = JsonResponse(data, status=status)
    response["Cache-Control"] = "no-store" if status >= 400 else "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"  # public documents, read by browser hosts
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


@require_GET
def resource_metadata(request, name: str):
    """RFC 9728 protected resource metadata."""
    return _json(
        {
            "resource": public.resource_url(request, name),
            "authorization_servers": [public.issuer(request)],
            "scopes_supported": scopes.OFFERED,
            "bearer_methods_supported": ["header"],
            "resource_name": RESOURCE_NAMES[name],
            "resource_documentation": public.base_url(request) + "/api/v1/docs",
        }
    )


@require_GET
def server_metadata(request):
    """RFC 8414 authorization server metadata."""
    return _json(Server(request).metadata)


@csrf_exempt
@require_POST
def token(request):
    with transaction.atomic():  # a code or refresh token is spent with the tokens it buys
        return Server(request).create_token_response(request)


@csrf_exempt
@require_POST
def register(request):
    ip = client_ip(request) or "unknown"
    name = f"fibe:rl:oauth-register:{ip}"
    cache.add(name, 0, 3600)
    if cache.incr(name) > settings.OAUTH_REGISTRATIONS_PER_HOUR:
        return _json(
            {
                "error": "too_many_requests",
                "error_description": "Too many client registrations from this address; try later.",
            },
            429,
            Retry_After="3600",
        )
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _json(
            {
                "error": "invalid_client_metadata",
                "error_description": "Send the client metadata as a JSON object.",
            },
            400,
        )
    with transaction.atomic():
        return Server(request).create_endpoint_response("client_registration", request)


def _with_iss(response, issuer: str):
    """RFC 9207: every authorization response names its issuer."""
    location = response.get("Location")
    if location:
        response["Location"] = add_params_to_uri(location, [("iss", issuer)])
    return response


def _refusal(request, server: Server, error: OAuth2Error):
    if error.redirect_uri:  # the client and its redirect URI are known: tell the client
        return _with_iss(server.handle_error_response(None, error), server.issuer)
    return render(
        request,
        "oauth/error.html",
        {"error": error.error, "description": error.description or error.error},
        status=400,
    )


@never_cache
@step_up_required
@require_http_methods(["GET", "POST"])
def authorize(request):
    """The consent page: reached signed in and stepped up (the decorator sends the person
    through both and back here, query and all)."""
    server = Server(request)
    try:
        grant = server.get_consent_grant(request, end_user=request.user)
    except OAuth2Error as error:
        return _refusal(request, server, error)
    oauth_request = grant.request
    client = grant.client
    resource = oauth_request.fibe_resource
    offered, open_choice = offered_scopes(oauth_request.payload.scope)
    choices = presenters.resource_choices(owner=request.user)
    data = request.POST if request.method == "POST" else None
    initial = {} if open_choice else {"scopes": offered}
    form = ConsentForm(data, offered=offered, resource_choices=choices, initial=initial)
    if request.method == "POST" and request.POST.get("decision") == "deny":
        response = server.create_authorization_response(request, grant_user=None, grant=grant)
        return _with_iss(response, server.issuer)
    if request.method == "POST" and form.is_valid():
        chosen = list(form.cleaned_data["scopes"])
        if resource.startswith("mcp"):
            chosen.append(public.MCP_SCOPE)
        try:
            with transaction.atomic():
                oauth_request.fibe_grant = services.grant_approve(
                    actor=Actor.from_request(request),
                    owner=request.user,
                    client=client,
                    resource=resource,
                    redirect_uri=grant.redirect_uri,
                    scope_names=chosen,
                    restrictions=form.cleaned_data["restrictions"],
                    expires_at=form.cleaned_data["expires_at"],
                    confirm_destructive=form.cleaned_data["confirm_destructive_on"],
                )
                response = server.create_authorization_response(
                    request, grant_user=request.user, grant=grant
                )
        except ValidationError as exc:
            for errors in exc.message_dict.values():
                form.add_error(None, errors)
        else:
            return _with_iss(response, server.issuer)
    picker = presenters.scope_picker(form)
    if not form.is_bound and not open_choice:
        for row in picker[0]:
            for option in row.options:
                option["checked"] = option["name"] in offered
    response = render(
        request,
        "oauth/consent.html",
        {
            "form": form,
            "client": client,
            "unverified": client.kind == client.Kind.REGISTERED,
            "loopback": clients.is_loopback_client(client)
            and grant.redirect_uri.startswith("http://"),
            "redirect_host": grant.redirect_uri.split("/")[2],
            "resource_name": RESOURCE_NAMES[resource],
            "resource_url": public.resource_url(request, resource),
            "includes_mcp": resource.startswith("mcp"),
            "offered": set(offered),
            "open_choice": open_choice,
            "picker_rows": [r for r in picker[0] if any(o["name"] in offered for o in r.options)],
            "narrow": [o for o in picker[1] if o["name"] in offered],
            "restrict_fields": [form[f"restrict_{f}"] for f in form.restrict_families],
            "has_resources": any(choices.values()),
        },
    )
    # The consent form's answer redirects to the client: browsers hold that redirect to the
    # page's form-action, so it names the client's origin (and only it) beside 'self'.
    parts = urlsplit(grant.redirect_uri)
    response._csp_update = {"form-action": [f"{parts.scheme}://{parts.netloc}"]}
    return response


@confirmed_action
def grant_revoke(request, grant_id: int):
    grant = selectors.grant_get(owner=request.user, pk=grant_id)
    if grant is None or grant.revoked_at is not None:
        raise Http404("No such connected app.")

    def revoke():
        services.grant_revoke(actor=Actor.from_request(request), grant=grant)
        messages.success(
            request, f"“{grant.client.client_name}” was disconnected. Its tokens no longer work."
        )
        return redirect("keys:list")

    return Confirm(
        act=revoke,
        cancel_url=reverse("keys:list"),
        title=f"Revoke “{grant.client.client_name}”",
        body="The app loses access at once: every token it holds stops working. "
        "Connecting it again needs your approval on a new consent page.",
        button="Revoke access",
        danger=True,
    )
