from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .addresses import canonical_email, normalize_email


class UserManager(BaseUserManager):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email):
        return normalize_email(email)

    def get_by_natural_key(self, username):
        if not isinstance(username, str) or "\x00" in username:
            raise self.model.DoesNotExist
        return self.get(email_canonical=canonical_email(username))

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
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
    # What sign-up, sign-in and reset compare (see addresses.py); kept in step by save().
    email_canonical = models.CharField(max_length=254, unique=True, editable=False)
    # Operators' accounts (createsuperuser, the shell, the admin) are trusted as verified; a
    # sign-up through the page clears this until its signed link is followed.
    email_verified_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    name = models.CharField(max_length=150, blank=True)
    # Bumped by "sign out everywhere": part of the session hash, so every other session ends.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)
    # Security-log rows removed by the retention policy, shown on the log.
    security_events_dropped = models.PositiveBigIntegerField(default=0, editable=False)
    # API key policies (off when empty): keys unused for this many days expire; new keys must
    # expire within this many days.
    key_inactivity_days = models.PositiveSmallIntegerField(null=True, blank=True)
    key_max_lifetime_days = models.PositiveSmallIntegerField(null=True, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.email

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email)
        self.email_canonical = canonical_email(self.email)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "email" in update_fields:
            kwargs["update_fields"] = {*update_fields, "email_canonical"}
        super().save(*args, **kwargs)

    def check_password(self, raw_password):
        if not self.has_usable_password():
            make_password(raw_password)  # the cost of a real check: timing tells nothing
            return False
        return super().check_password(raw_password)

    def _get_session_auth_hash(self, secret=None):
        if not self.session_epoch:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "fibe_access.accounts.User.session_auth_hash",
            f"{self.password}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class SecurityEvent(models.Model):
    """One line of an account's security log."""

    class Kind(models.TextChoices):
        SIGNED_UP = "signed_up", "Account created"
        SIGNED_IN = "signed_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        SIGN_IN_REFUSED = "sign_in_refused", "Sign-in refused: too many failed attempts"
        SIGNED_OUT = "signed_out", "Signed out"
        SIGNED_OUT_EVERYWHERE = "signed_out_everywhere", "Signed out of every other session"
        SESSION_ENDED = "session_ended", "Signed out one session"
        SIGN_UP_REPEATED = "sign_up_repeated", "Someone tried to sign up with this address"
        EMAIL_VERIFIED = "email_verified", "E-mail address verified"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        PASSWORD_RESET_REQUESTED = "password_reset_requested", "Password reset requested"
        PASSWORD_RESET = "password_reset", "Password reset by e-mail"
        NOTICE_SENT = "notice_sent", "Notice e-mailed"
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
        KEY_OLD_TOKEN_ENDED = "key_old_token_ended", "Old token of a rotated API key stopped"
        KEY_ALLOWED_IPS_CHANGED = "key_allowed_ips_changed", "API key allowed addresses changed"
        KEY_IP_REFUSED = "key_ip_refused", "API key refused: address not allowed"
        KEY_POLICY_CHANGED = "key_policy_changed", "API key policy changed"
        KEY_CONFIRM_CHANGED = "key_confirm_changed", "API key: confirm destructive actions changed"
        CONFIRMATION_REQUESTED = "confirmation_requested", "Destructive call waiting for approval"
        CONFIRMATION_APPROVED = "confirmation_approved", "Destructive call approved"
        CONFIRMATION_DENIED = "confirmation_denied", "Destructive call denied"
        CONFIRMATION_USED = "confirmation_used", "Approved destructive call carried out"
        WEBHOOK_CREATED = "webhook_created", "Webhook created"
        WEBHOOK_UPDATED = "webhook_updated", "Webhook updated"
        WEBHOOK_DELETED = "webhook_deleted", "Webhook deleted"
        WEBHOOK_SECRET_CHANGED = "webhook_secret_changed", "Webhook secret changed"
        WEBHOOK_DISABLED = "webhook_disabled", "Webhook disabled"
        WEBHOOK_ENABLED = "webhook_enabled", "Webhook re-enabled"
        LISTEN_STARTED = "listen_started", "CLI listen session started"
        LISTEN_ENDED = "listen_ended", "CLI listen session ended"
        ACCOUNT_DELETED = "account_deleted", "Account deleted"
        OAUTH_GRANTED = "oauth_granted", "App connected (OAuth grant approved)"
        OAUTH_REVOKED = "oauth_revoked", "Connected app revoked"
        OAUTH_TOKEN_REUSED = (
            "oauth_token_reused",
            "Connected app revoked: a used code or refresh token came back",
        )

    user = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="security_events", null=True
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Failed sign-ins are aggregated: one row per account, address and hour, counting them.
    count = models.PositiveIntegerField(default=1)
    last_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"]),
            # An account's failed sign-ins: their aggregation and their cap in the trim.
            models.Index(
                fields=["user", "-created_at"],
                name="securityevent_user_failures",
                condition=models.Q(kind__in=["sign_in_failed", "sign_in_refused"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.user_id})"
