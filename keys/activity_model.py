"""What a key did: one row per authenticated REST request or MCP tool call (issue 24), written
in batches off the request path by ``keys.activity`` and trimmed after
API_ACTIVITY_RETENTION; and the same counted per key and hour (``KeyActivityHour``), added to
in the same batch, so the key's usage picture reads at most 168 rows however busy the key."""

from django.db import models


class KeyActivity(models.Model):
    class Door(models.TextChoices):
        REST = "rest", "REST"
        MCP = "mcp", "MCP"
        CLI = "cli", "CLI"

    class Kind(models.TextChoices):  # as the operation registry declares it
        READ = "read", "Read"
        WRITE = "write", "Write"
        DELETE = "delete", "Delete"

    # No database constraint: rows are written in batches after the request, when the key may
    # already be gone; a deleted key's rows are never shown and leave with the retention trim.
    key = models.ForeignKey(
        "keys.ApiKey",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # keyactivity_key_at serves lookups by key
        related_name="activity",
    )
    at = models.DateTimeField()
    door = models.CharField(max_length=4, choices=Door.choices)
    operation = models.CharField(max_length=64)  # the operation's name: "playgrounds.create"
    kind = models.CharField(max_length=6, choices=Kind.choices, default=Kind.READ)
    record_id = models.BigIntegerField(null=True, blank=True)
    status = models.PositiveSmallIntegerField()
    duration_ms = models.PositiveIntegerField()
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = "key activity"
        verbose_name_plural = "key activity"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["key", "-at"], name="keyactivity_key_at"),
            models.Index(fields=["at"], name="keyactivity_at"),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.status} ({self.door})"

    @property
    def is_error(self) -> bool:
        return self.status >= 400

    @property
    def is_write(self) -> bool:
        """A write that went through: the deliveries it caused are worth showing."""
        return self.kind != self.Kind.READ and self.status < 400


class KeyActivityHour(models.Model):
    """Requests of one key in one hour (UTC), and how many of them failed (4xx–5xx): what
    ``keys.activity.values_write`` adds with every batch of ``KeyActivity`` rows it writes."""

    key_id = models.BigIntegerField()  # no constraint, as KeyActivity.key
    hour = models.DateTimeField()
    total = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key_id", "hour"], name="keyactivityhour_key_hour")
        ]
        indexes = [models.Index(fields=["hour"], name="keyactivityhour_hour")]

    def __str__(self) -> str:
        return f"key {self.key_id} at {self.hour:%Y-%m-%d %H}:00: {self.total}"
