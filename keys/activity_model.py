"""What a key did: one row per authenticated REST request or MCP tool call (issue 24), written
in batches off the request path by ``keys.activity`` and trimmed after
API_ACTIVITY_RETENTION."""

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
