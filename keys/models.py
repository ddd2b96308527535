from django.conf import settings
from django.db import models
from django.utils import timezone

from .allowlist import AllowList


class ApiKey(models.Model):
    """A scoped token. Only its SHA-256 digest and last four characters are kept; an agent key
    also keeps the token encrypted (AES-GCM) so its owner can reveal it after a step-up."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    label = models.CharField(max_length=100)
    scopes = models.JSONField(default=list)
    # {family: [resource ids]}: a family listed here is narrowed to those IDs.
    restrictions = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    is_agent = models.BooleanField("for agents", default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    # Issue 22: destructive operations wait for the owner's approval (keys.confirmations).
    confirm_destructive = models.BooleanField("confirm destructive actions", default=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    last4 = models.CharField(max_length=4, editable=False)
    encrypted_token = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    # A rotation with an overlap keeps the old token working until ``previous_expires_at``.
    previous_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    previous_last4 = models.CharField(max_length=4, blank=True, default="", editable=False)
    previous_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # CIDRs (v4 and v6) the key may be used from; empty: anywhere.
    allowed_ips = models.JSONField(default=list, blank=True)
    # Expiry warnings already sent, for which expiry: 1 = 7 days before, 2 = 1 day, 3 = expired.
    expiry_warned_for = models.DateTimeField(null=True, blank=True, editable=False)
    expiry_warned_level = models.PositiveSmallIntegerField(default=0, editable=False)
    # When the owner was last warned that the key would expire for being unused.
    inactivity_warned_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="apikey_owner_created"),
            models.Index(fields=["expires_at"], name="apikey_expires_at"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["previous_digest"],
                condition=~models.Q(previous_digest=""),
                name="apikey_previous_digest_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} (…{self.last4})"

    def current_status(self, now=None) -> str:
        """The stored status, with a passed ``expires_at`` read as expired."""
        if (
            self.status == self.Status.ACTIVE
            and self.expires_at is not None
            and self.expires_at <= (now or timezone.now())
        ):
            return self.Status.EXPIRED
        return self.status

    @property
    def is_usable(self) -> bool:
        return self.current_status() == self.Status.ACTIVE

    def previous_usable(self, now=None) -> bool:
        """Whether the token replaced by an overlapping rotation still works."""
        return (
            bool(self.previous_digest)
            and self.previous_expires_at is not None
            and self.previous_expires_at > (now or timezone.now())
        )

    @property
    def allow_list(self) -> AllowList | None:
        """The allow-list worked out once per read of the key (kept with the cached key)."""
        if not self.allowed_ips:
            return None
        cached = self.__dict__.get("_allow_list")
        if cached is None or cached.source != self.allowed_ips:
            cached = self.__dict__["_allow_list"] = AllowList(self.allowed_ips)
        return cached

    @property
    def effective_rate_limit(self) -> int:
        return self.rate_limit_per_minute or settings.API_KEY_RATE_LIMIT_PER_MINUTE


class Confirmation(models.Model):
    """A destructive call waiting for (or given) its owner's approval: one credential, one
    operation, one digest of its exact arguments; approved at most once, used at most once,
    and lapsing EXPIRES_AFTER after it was asked (keys.confirmations)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        USED = "used", "Used"

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="confirmations")
    operation = models.CharField(max_length=80)  # the registry's name: "playspecs.delete"
    digest = models.CharField(max_length=64)  # SHA-256 of the canonical arguments
    summary = models.CharField(max_length=300)  # what will happen, in plain words
    record_id = models.BigIntegerField(null=True, blank=True)
    record_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=10, blank=True)  # api or mcp

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["key", "operation", "digest", "status"], name="confirm_lookup")
        ]

    def __str__(self) -> str:
        return f"{self.operation} #{self.record_id} ({self.status})"

    def is_open(self, now=None) -> bool:
        return self.expires_at > (now or timezone.now())


from .activity_model import KeyActivity  # noqa: E402, F401 - per-key activity (issue 24)
