from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """An account: signs in with its e-mail address."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField("e-mail address", unique=True)
    name = models.CharField(max_length=150, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.email


class SecurityEvent(models.Model):
    """One line of an account's security log."""

    class Kind(models.TextChoices):
        SIGNED_UP = "signed_up", "Account created"
        SIGNED_IN = "signed_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        SIGNED_OUT = "signed_out", "Signed out"
        DEVICE_ADDED = "device_added", "Authenticator added"
        DEVICE_REMOVED = "device_removed", "Authenticator removed"
        BACKUP_CODES_GENERATED = "backup_codes_generated", "Backup codes generated"
        STEP_UP_PASSED = "step_up_passed", "Re-authentication passed"
        STEP_UP_FAILED = "step_up_failed", "Re-authentication failed"
        KEY_CREATED = "key_created", "API key created"
        KEY_ROTATED = "key_rotated", "API key rotated"
        KEY_EXPIRED = "key_expired", "API key expired"
        KEY_REVOKED = "key_revoked", "API key revoked"
        KEY_DELETED = "key_deleted", "API key deleted"
        KEY_REVEALED = "key_revealed", "API key revealed"
        WEBHOOK_CREATED = "webhook_created", "Webhook created"
        WEBHOOK_UPDATED = "webhook_updated", "Webhook updated"
        WEBHOOK_DELETED = "webhook_deleted", "Webhook deleted"
        WEBHOOK_SECRET_CHANGED = "webhook_secret_changed", "Webhook secret changed"
        WEBHOOK_DISABLED = "webhook_disabled", "Webhook disabled"
        WEBHOOK_ENABLED = "webhook_enabled", "Webhook re-enabled"
        ACCOUNT_DELETED = "account_deleted", "Account deleted"

    user = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="security_events", null=True
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.user_id})"
