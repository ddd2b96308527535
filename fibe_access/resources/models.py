"""The Fibe resources that API keys guard and webhook events describe. Each belongs to one
account. There is no container engine here: a Playground's lifecycle is its record's."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from fibe_access import jsonvalues, sealed


def validate_json_object(value) -> None:
    """A JSON object the database can store (``fibe_access.jsonvalues``: no NUL anywhere)."""
    found = jsonvalues.problem(value)
    if found:
        raise ValidationError(found)


class Resource(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


def _owner_index(name: str) -> list[models.Index]:
    return [models.Index(fields=["owner", "-created_at"], name=f"{name}_owner_created")]


class Playroom(Resource):
    class Meta(Resource.Meta):
        indexes = _owner_index("playroom")


class Playspec(Resource):
    """A recipe that can be launched into a Playground."""

    config = models.JSONField(default=dict, blank=True, validators=[validate_json_object])

    class Meta(Resource.Meta):
        indexes = _owner_index("playspec")


class Playground(Resource):
    class Status(models.TextChoices):
        CREATED = "created", "Created"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"
        EXPIRING = "expiring", "Expiring soon"
        ERROR = "error", "Error"
        DESTROYED = "destroyed", "Destroyed"

    playspec = models.ForeignKey(
        Playspec, null=True, blank=True, on_delete=models.SET_NULL, related_name="playgrounds"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CREATED)
    # What the status was before the expiry notice, so extending restores it.
    status_before_expiring = models.CharField(max_length=20, choices=Status.choices, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    expiring_notified_at = models.DateTimeField(null=True, blank=True)
    error_message = models.CharField(max_length=500, blank=True)

    class Meta(Resource.Meta):
        indexes = [
            *_owner_index("playground"),
            models.Index(
                fields=["expires_at"],
                name="playground_expiry_due",
                condition=models.Q(expiring_notified_at__isnull=True),
            ),
        ]


class Playzone(Resource):
    class Meta(Resource.Meta):
        indexes = _owner_index("playzone")


class Template(Resource):
    """An import template."""

    source_url = models.URLField(blank=True, max_length=500)

    class Meta(Resource.Meta):
        indexes = _owner_index("template")


class Agent(Resource):
    class Meta(Resource.Meta):
        indexes = _owner_index("agent")


class Marquee(Resource):
    class Meta(Resource.Meta):
        indexes = _owner_index("marquee")


class Prop(Resource):
    class Meta(Resource.Meta):
        indexes = _owner_index("prop")


class Artefact(Resource):
    class Meta(Resource.Meta):
        indexes = _owner_index("artefact")


class Secret(Resource):
    """A credential the owner's services use. The value is write-only: stored, never returned,
    and sealed at rest (``fibe_access.sealed``): the column holds only ciphertext, read back
    through ``revealed_value()``."""

    value = sealed.SealedTextField(max_length=10000)

    class Meta(Resource.Meta):
        indexes = _owner_index("secret")

    def revealed_value(self) -> str:
        return sealed.reveal(self, "value")


class JobEnv(Resource):
    """One Job ENV entry: an environment variable given to jobs."""

    key = models.CharField(
        max_length=200,
        validators=[
            RegexValidator(
                r"^[A-Za-z_][A-Za-z0-9_]*\Z",
                "Use letters, digits and underscores, not starting with a digit.",
            )
        ],
    )
    value = models.TextField(blank=True, max_length=10000)

    class Meta(Resource.Meta):
        verbose_name = "Job ENV entry"
        verbose_name_plural = "Job ENV entries"
        indexes = _owner_index("jobenv")


class Repository(Resource):
    """A Fibe-hosted repository: files pushed in commits (see ``fibe_access.resources.repos``)."""

    class Meta(Resource.Meta):
        verbose_name_plural = "repositories"
        indexes = _owner_index("repository")


class RepoCommit(models.Model):
    """One push: its message and who made it; the files it set point at it."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="commits")
    message = models.CharField(max_length=1000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key_id = models.PositiveBigIntegerField(null=True, blank=True)
    paths = models.JSONField(default=list)  # the paths it set or removed
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [  # a repository's commits, newest first, paged by keyset (issue 27)
            models.Index(
                fields=["repository", "-created_at", "-id"], name="repocommit_repo_created"
            )
        ]

    def __str__(self) -> str:
        return self.message[:60]


class RepoFile(models.Model):
    """A file as of the latest commit that set it."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=255)
    content = models.TextField()
    size = models.PositiveIntegerField()
    commit = models.ForeignKey(RepoCommit, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "path"], name="repofile_unique_path")
        ]

    def __str__(self) -> str:
        return self.path


class ResourceChange(models.Model):
    """One row per write to a resource, written in the write's transaction: who (the acting
    user, where the call came from, the API key, IP and user agent), what (family, record,
    action and the names of the fields it set — never their values: secrets live there) and
    when. Kept apart from the account's security log, which it would drown."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"
        LAUNCH = "launch", "Launched from a playspec"
        START = "start", "Started"
        STOP = "stop", "Stopped"
        ERROR = "error", "Marked as failed"
        DESTROY = "destroy", "Destroyed"
        RECREATE = "recreate", "Recreated"
        EXTEND = "extend", "Expiry extended"
        EXPIRING = "expiring", "Marked as expiring"
        PUSH = "push", "Files pushed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when the system acted (e.g. the expiry notice).",
    )
    source = models.CharField(max_length=10)
    api_key_id = models.PositiveBigIntegerField("API key", null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    family = models.CharField(max_length=32)
    object_id = models.PositiveBigIntegerField()
    action = models.CharField(max_length=16, choices=Action.choices)
    fields = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="resourcechange_owner"),
            models.Index(fields=["family", "object_id"], name="resourcechange_object"),
        ]

    def __str__(self) -> str:
        return f"{self.family} #{self.object_id} {self.action}"
