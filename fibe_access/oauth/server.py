"""The authorization server: Authlib's (RFC 6749 grants, RFC 7636 PKCE, RFC 7591 registration)
with this project's glue: clients from ``clients``, ``fibe_`` tokens kept as digests, codes and
refresh tokens single-use (a second use revokes the grant), PKCE S256 only, ``resource``
(RFC 8707) required and bound. One server per request, so the issuer is the request's."""

from __future__ import annotations

import time

from authlib.integrations.django_oauth2 import AuthorizationServer
from authlib.integrations.django_oauth2.requests import (
    DjangoJsonPayload,
    DjangoJsonRequest,
    DjangoOAuth2Payload,
    DjangoOAuth2Request,
)
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6749.requests import JsonRequest, OAuth2Request
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc7591.errors import InvalidClientMetadataError
from authlib.oauth2.rfc7636 import CodeChallenge
from django.conf import settings

from fibe_access.accounts.actor import Actor, Source, client_ip
from keys import scopes, tokens

from . import clients, public, selectors, services
from .models import AuthorizationCode, OAuthClient, RefreshToken

GRANT_TYPES = ["authorization_code", "refresh_token"]


class InvalidTargetError(OAuth2Error):
    """RFC 8707 §2: the resource is missing, unknown or not the one the grant is for."""

    error = "invalid_target"


def _reuse_actor(server) -> Actor:
    request = server.django_request
    return Actor(
        user=None,
        source=Source.API,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
    )


class S256Challenge(CodeChallenge):
    """PKCE required on every authorization request, and only S256 (OAuth 2.1 §4.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is supported.")
        super().validate_code_challenge(grant, redirect_uri)


def _check_token_resource(grant, bound: str) -> None:
    raw = grant.request.form.get("resource")
    if raw is not None and public.resource_named(grant.server.django_request, raw) != bound:
        raise InvalidTargetError("This grant is for another resource.")


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

    def validate_authorization_request(self):
        redirect_uri = super().validate_authorization_request()
        values = self.request.payload.datalist.get("resource", [])
        name = public.resource_named(self.server.django_request, values[0] if values else None)
        if len(values) != 1 or name is None:
            known = ", ".join(
                public.resource_url(self.server.django_request, n) for n in public.RESOURCES
            )
            raise InvalidTargetError(
                f"Send one resource parameter naming what the token is for: {known}.",
                redirect_uri=redirect_uri,
            )
        self.request.fibe_resource = name
        return redirect_uri

    def save_authorization_code(self, code, request):
        services.code_create(
            grant=request.fibe_grant,
            code=code,
            redirect_uri=request.payload.redirect_uri,
            challenge=request.payload.data["code_challenge"],
        )

    def query_authorization_code(self, code, client):
        if not tokens.is_well_formed(code):
            return None
        row = (
            AuthorizationCode.objects.select_for_update()
            .select_related("grant__key__owner", "grant__client")
            .filter(digest=tokens.digest(code))
            .first()
        )
        if row is None or row.grant.client_id != client.pk:
            return None
        if row.used_at is not None:  # RFC 6749 §4.1.2: revoke what it issued
            services.grant_revoke(
                actor=_reuse_actor(self.server), grant=row.grant, reason="code_reused"
            )
            return None
        if row.is_expired() or not selectors.active(row.grant):
            return None
        return row

    def generate_authorization_code(self):
        return tokens.generate()

    def validate_token_request(self):
        super().validate_token_request()
        _check_token_resource(self, self.request.authorization_code.grant.resource)

    def delete_authorization_code(self, authorization_code):
        services.code_use(authorization_code)

    def authenticate_user(self, authorization_code):
        return authorization_code.grant.owner


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotate on every use

    def authenticate_refresh_token(self, refresh_token):
        if not tokens.is_well_formed(refresh_token):
            return None
        row = (
            RefreshToken.objects.select_for_update()
            .select_related("grant__key__owner", "grant__client")
            .filter(digest=tokens.digest(refresh_token))
            .first()
        )
        if row is None:
            return None
        if row.used_at is not None:  # a rotated token came back: someone else holds one
            services.grant_revoke(
                actor=_reuse_actor(self.server), grant=row.grant, reason="refresh_reused"
            )
            return None
        return row if selectors.active(row.grant) else None

    def validate_token_request(self):
        super().validate_token_request()
        _check_token_resource(self, self.request.refresh_token.grant.resource)

    def issue_token(self, user, refresh_token):
        # Always the grant's scopes: the token stands for the grant's key, whatever was asked.
        return self.generate_token(
            user=user, scope=refresh_token.get_scope(), include_refresh_token=True
        )

    def authenticate_user(self, refresh_token):
        return refresh_token.grant.owner

    def revoke_old_credential(self, refresh_token):
        services.refresh_use(refresh_token)


class Registration(ClientRegistrationEndpoint):
    """RFC 7591, open (rate-limited per address by the view). Every client is public: the
    server replaces what a client asks for with what it supports (RFC 7591 §3.2.1)."""

    def authenticate_token(self, request):
        return True

    def get_server_metadata(self):
        return self.server.metadata

    def extract_client_metadata(self, request):
        """The client's metadata, vetted here first (Authlib's claims assume strings), with
        what this server supports in place of what the client asked for."""
        data = request.payload.data
        if not isinstance(data, dict):
            raise InvalidRequestError("Send the client metadata as a JSON object.")
        for name in ("client_name", "client_uri", "logo_uri", "tos_uri", "policy_uri"):
            if name in data and not isinstance(data[name], str):
                raise InvalidClientMetadataError(f"{name} must be a string.")
        try:
            data["redirect_uris"] = clients.clean_redirect_uris(data.get("redirect_uris"))
        except clients.ClientRefused as exc:
            raise InvalidRedirectUri(str(exc)) from None
        data.pop("scope", None)  # the person chooses scopes on the consent page
        data["token_endpoint_auth_method"] = "none"  # noqa: S105 - an auth method's name
        data["grant_types"] = GRANT_TYPES
        data["response_types"] = ["code"]
        metadata = super().extract_client_metadata(request)
        metadata["client_name"] = clients.clean_name(metadata.get("client_name"), "Unnamed app")
        return metadata

    def generate_client_info(self, request):
        return {"client_id": services.new_client_id(), "client_id_issued_at": int(time.time())}

    def save_client(self, client_info, client_metadata, request):
        return services.client_register(
            client_id=client_info["client_id"],
            metadata=client_metadata,
            ip=client_ip(self.server.django_request),
        )


class InvalidRedirectUri(OAuth2Error):
    error = "invalid_redirect_uri"


class Server(AuthorizationServer):
    def __init__(self, request):
        super().__init__(OAuthClient, None)
        self.django_request = request
        self.issuer = public.issuer(request)
        self.register_token_generator("default", self._generate_token)
        self.register_grant(CodeGrant, [S256Challenge(required=True)])
        self.register_grant(RefreshGrant)
        self.register_endpoint(Registration)

    def _public_uri(self, request) -> str:
        # The URL as clients see it (PUBLIC_URL behind a proxy): Authlib refuses plain HTTP
        # but on loopback (RFC 8252), so production must be reached over HTTPS.
        return public.base_url(request) + request.get_full_path()

    def create_oauth2_request(self, request):
        oauth_request = DjangoOAuth2Request.__new__(DjangoOAuth2Request)
        OAuth2Request.__init__(
            oauth_request, request.method, self._public_uri(request), headers=request.headers
        )
        oauth_request.payload = DjangoOAuth2Payload(request)
        oauth_request._request = request
        return oauth_request

    def create_json_request(self, request):
        json_request = DjangoJsonRequest.__new__(DjangoJsonRequest)
        JsonRequest.__init__(
            json_request, request.method, self._public_uri(request), request.headers
        )
        json_request.payload = DjangoJsonPayload(request)
        return json_request

    def query_client(self, client_id):
        try:
            return clients.client_for(client_id)
        except clients.ClientRefused as exc:
            raise InvalidClientError(description=str(exc)) from None

    def save_token(self, token, request):
        source = request.authorization_code or request.refresh_token
        services.tokens_store(
            grant=source.grant,
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
        )

    def _generate_token(
        self, grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True
    ):
        token = {
            "token_type": "Bearer",
            "access_token": tokens.generate(),
            "expires_in": settings.OAUTH_ACCESS_TOKEN_SECONDS,
        }
        if include_refresh_token:
            token["refresh_token"] = tokens.generate()
        if scope:
            token["scope"] = scope
        return token

    def send_signal(self, name, *args, **kwargs):
        pass

    @property
    def metadata(self) -> dict:
        """RFC 8414 authorization server metadata."""
        base = public.base_url(self.django_request)
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "registration_endpoint": f"{base}/oauth/register",
            "scopes_supported": scopes.OFFERED,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": GRANT_TYPES,
            "token_endpoint_auth_methods_supported": ["none"],
            "code_challenge_methods_supported": ["S256"],
            "client_id_metadata_document_supported": True,
            "authorization_response_iss_parameter_supported": True,
            "service_documentation": f"{base}/api/v1/docs",
        }
