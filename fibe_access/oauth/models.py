"""Clients, codes, grants and their tokens. A grant owns an ``ApiKey`` (its scopes,
restrictions, expiry, status, last use, rate limit): the key is what authentication, the
cache, the change channel and the audit see; its own secret is never issued. Access and refresh
tokens are ``fibe_`` tokens kept as SHA-256 digests, like a key's."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class OAuthClient(models.Model):
    class Kind(models.TextChoices):
        METADATA_DOCUMENT = "cimd", "Client ID Metadata Document"
        REGISTERED = "dcr", "Dynamic registration"

    client_id = models.CharField(max_length=500, unique=True)
    kind = models.CharField(max_length=4, choices=Kind.choices)
    client_name = models.CharField(max_length=200)
    client_uri = models.CharField(max_length=500, blank=True)
    redirect_uris = models.JSONField(default=list)
    fetched_at = models.DateTimeField(null=True, blank=True)  # a metadata document's last read
    registered_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "OAuth client"

    def __str__(self) -> str:
        return self.client_name

    # Authlib's ClientMixin: every client is public (PKCE, no secret).
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self):
        return None  # the redirect URI is always sent and matched exactly

    def get_allowed_scope(self, scope):
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret) -> bool:
        return False

    def check_endpoint_auth_method(self, method, endpoint) -> bool:
        return method == "none"

    def check_response_type(self, response_type) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


class Grant(models.Model):
    """What a person approved on the consent page: one client, one resource, one key."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oauth_grants"
    )
    client = models.ForeignKey(OAuthClient, on_delete=models.PROTECT, related_name="grants")
    key = models.OneToOneField("keys.ApiKey", on_delete=models.CASCADE, related_name="oauth_grant")
    resource = models.CharField(max_length=40)  # a name of fibe_access.oauth.public.RESOURCES
    redirect_host = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.client} for {self.owner}"


class AuthorizationCode(models.Model):
    digest = models.CharField(max_length=64, unique=True)
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="codes")
    redirect_uri = models.CharField(max_length=2000)
    code_challenge = models.CharField(max_length=128)
    code_challenge_method = models.CharField(max_length=10, default="S256")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"code for grant {self.grant_id}"

    # Authlib's AuthorizationCodeMixin
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return " ".join(self.grant.key.scopes)

    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class AccessToken(models.Model):
    digest = models.CharField(max_length=64, unique=True)
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="access_tokens")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"access token of grant {self.grant_id}"


class RefreshToken(models.Model):
    digest = models.CharField(max_length=64, unique=True)
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="refresh_tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)  # rotated: presenting it again is reuse

    def __str__(self) -> str:
        return f"refresh token of grant {self.grant_id}"

    # Authlib's TokenMixin, as far as the refresh grant asks
    def check_client(self, client) -> bool:
        return self.grant.client_id == client.pk

    def get_scope(self) -> str:
        return " ".join(self.grant.key.scopes)
