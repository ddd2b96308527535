"""Endpoints, the events they are told about, one delivery per (event, endpoint) and one attempt
row per try (Saleor's EventDelivery / EventDeliveryAttempt shape)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from fibe_access.sealed import SealedTextField, reveal

from . import sealed_secrets


class WebhookEndpoint(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)
    # The signing secret, encrypted with the keyring (it keys the HMAC, so it must be read
    # back); read and written only through ``secret`` / ``signing_secrets``. Never logged,
    # never returned by the API. A rotation keeps the previous one until
    # ``previous_secret_expires_at``: deliveries are signed with both meanwhile.
    secret_encrypted = models.TextField(blank=True, default="", editable=False)
    previous_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    description = models.CharField(max_length=255, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    # Set when a delivery exhausts its retries; cleared by any success.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "is_active"]),
            # the API's list, newest first, paged by keyset (issue 27)
            models.Index(fields=["owner", "-created_at", "-id"], name="endpoint_owner_created"),
            # Beat's endpoints_disable_failing: the few active endpoints that keep failing.
            models.Index(
                fields=["failing_since"],
                name="webhooks_endpoint_failing",
                condition=models.Q(is_active=True, failing_since__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event: str) -> bool:
        return event in (self.events or [])

    @property
    def secret(self) -> str:
        """The current signing secret in plain text ("" when none)."""
        return sealed_secrets.unseal(self.secret_encrypted, sealed_secrets.CURRENT)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = sealed_secrets.seal(value, sealed_secrets.CURRENT)

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)

    def previous_secret_usable(self, now=None) -> bool:
        return bool(self.previous_secret_encrypted) and (
            self.previous_secret_expires_at is not None
            and self.previous_secret_expires_at > (now or timezone.now())
        )

    def signing_secrets(self, now=None) -> list[str]:
        """What a delivery is signed with: the current secret, then the previous one while a
        rotation's overlap lasts. Empty: the endpoint has no secret."""
        if not self.secret_encrypted:
            return []
        found = [self.secret]
        if self.previous_secret_usable(now):
            found.append(
                sealed_secrets.unseal(self.previous_secret_encrypted, sealed_secrets.PREVIOUS)
            )
        return found


class Event(models.Model):
    type = models.CharField(max_length=64)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_events"
    )
    # Serialised once at publish: every attempt sends exactly these bytes.
    body = models.BinaryField()
    # The records the body names, {family: id} (webhooks.subjects): what a key restricted on a
    # family is allowed to see of it. Empty for test sends, which carry a fixed sample.
    subjects = models.JSONField(default=dict, blank=True)
    # The API key (or grant) whose request or tool call caused the event, when one did: the
    # key's page links each write to the deliveries it caused. An id, not a foreign key:
    # webhooks know nothing of keys.
    credential_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["credential_id", "created_at"],
                name="webhooks_event_credential",
                condition=models.Q(credential_id__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        MANUAL = "manual", "Manual redelivery"
        TEST = "test", "Test webhook"

    OPEN = (Status.PENDING, Status.RETRYING)

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # What the next attempt is recorded as; manual and test attempts are not retried.
    next_trigger = models.CharField(
        max_length=16, choices=Trigger.choices, default=Trigger.SCHEDULED
    )
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a message was last put on the broker, and when a worker started sending; the beat
    # scan uses both to re-enqueue lost messages and attempts stuck in a dead worker.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    in_flight_since = models.DateTimeField(null=True, blank=True)
    is_test = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhooks_delivery_due",
                condition=models.Q(status__in=["pending", "retrying"]),
            ),
            models.Index(fields=["endpoint", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.uid} ({self.status})"


class Attempt(models.Model):
    RESPONSE_BODY_LIMIT = 16 * 1024

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    trigger = models.CharField(max_length=16, choices=Delivery.Trigger.choices)
    request_url = models.URLField(max_length=2000)
    request_headers = models.JSONField(default=dict)
    request_body = models.BinaryField()
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict)
    response_body = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    failure_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["delivery_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhooks_attempt_number")
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"

    @property
    def succeeded(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300


class ListenSession(models.Model):
    """A `fibe listen` (or any program's) pull of the account's events: live while polled
    within WEBHOOKS_LISTEN_TTL seconds (webhooks.listen). ``secret`` signs what it is handed,
    as an endpoint's secret signs a delivery; ``next_seq`` numbers the events it hands out."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="listen_sessions"
    )
    api_key_id = models.BigIntegerField(null=True, blank=True)  # the key that opened it
    key_label = models.CharField(max_length=255, blank=True)  # named by its security-log rows
    host = models.CharField(max_length=255, blank=True)
    events = models.JSONField(default=list)
    secret = SealedTextField()  # sealed at rest; read through ``signing_secret``
    next_seq = models.BigIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    last_polled_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"listen session {self.pk} ({self.host})"

    @property
    def signing_secret(self) -> str:
        """The session's secret in plain text."""
        return reveal(self, "secret")


class ListenEvent(models.Model):
    """One event captured for one live session, in the transaction that published it.
    ``seq`` is given when a poll first hands it out (under the session's lock), so the order
    a cursor walks is the order of handing out, never of commit; rows at or before the cursor
    the client sends back are deleted."""

    session = models.ForeignKey(ListenSession, on_delete=models.CASCADE, related_name="queue")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    seq = models.BigIntegerField(null=True, blank=True)
    is_test = models.BooleanField(default=False)  # a `fibe trigger` sample
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session_id", "seq", "id"]
        indexes = [models.Index(fields=["session", "seq"])]

    def __str__(self) -> str:
        return f"{self.session_id}:{self.seq or '-'}"


class ListenDelivery(models.Model):
    """The delivery log of listen sessions: one row per event a session handed out (made when
    first handed out, so only what the server really sent can be logged), completed by what
    the client reports of forwarding it (``webhooks.listen_log``). Not a ``Delivery``: the
    engine never reads this table, so it can never send one. Kept after the session ends
    (``session_ref`` and ``host`` are copies) until WEBHOOKS_LOG_RETENTION, like any delivery
    log; ``event`` is a plain reference the event purge may leave dangling (no constraint)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_ref = models.BigIntegerField()  # the ListenSession's id
    host = models.CharField(max_length=255, blank=True)
    uid = models.UUIDField(unique=True, editable=False)  # the message id (`webhook-id`)
    event = models.ForeignKey(
        Event,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    event_type = models.CharField(max_length=64)
    is_test = models.BooleanField(default=False)
    # pending: handed out, no outcome reported yet; then succeeded (2xx) or failed.
    status = models.CharField(
        max_length=16, choices=Delivery.Status.choices, default=Delivery.Status.PENDING
    )
    response_status = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    failure_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "listen deliveries"
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["session_ref", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.uid} ({self.status})"
