"""Every write of the accounts app. Each takes the acting ``Actor`` and leaves an audit row in
the same transaction."""

from __future__ import annotations

import secrets

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from qsessions.models import Session

from . import verification
from .actor import Actor
from .addresses import canonical_email, normalize_email
from .models import SecurityEvent, User
from .notices import account_mail_send, notice_send
from .securitylog import security_log, security_log_sign_in_failure
from .sessions import describe_agent, public_id

__all__ = ["security_log", "security_log_sign_in_failure"]  # other apps log through here

BACKUP_CODE_COUNT = 10
Kind = SecurityEvent.Kind


def _mail(template: str, **context) -> tuple[str, str]:
    subject, _, body = render_to_string(template, context).partition("\n")
    return subject.strip(), body.lstrip("\n")


def email_verification_send(*, user: User, base_url: str) -> bool:
    path = reverse("accounts:verify_email", kwargs={"token": verification.link_token(user)})
    hours = int(settings.EMAIL_VERIFICATION_MAX_AGE.total_seconds() // 3600)
    subject, body = _mail("accounts/mail/verify_email.txt", link=base_url + path, hours=hours)
    return account_mail_send(to=user.email, subject=subject, body=body)


def user_signup(*, actor: Actor, email: str, password: str, base_url: str) -> User | None:
    """Create an unverified account and mail it a verification link. For an address already
    registered (in any spelling), no account is made and its owner is mailed instead. Both paths
    cost one password hash and one mail, so neither the page nor its timing tells them apart.
    Returns the new account, or None."""
    user, existing = _signup_record(actor=actor, email=email, password=password)
    if user is not None:
        email_verification_send(user=user, base_url=base_url)
        return user
    subject, body = _mail(
        "accounts/mail/signup_existing.txt",
        sign_in=base_url + reverse("accounts:login"),
        reset=base_url + reverse("accounts:password_reset"),
        verify=not existing.email_verified,
    )
    account_mail_send(to=existing.email, subject=subject, body=body)
    if not existing.email_verified:
        email_verification_send(user=existing, base_url=base_url)
    return None


@transaction.atomic
def _signup_record(*, actor: Actor, email: str, password: str) -> tuple[User | None, User | None]:
    email = normalize_email(email)
    canonical = canonical_email(email)
    existing = User.objects.filter(email_canonical=canonical).first()
    if existing is None:
        user = User(email=email, email_canonical=canonical, email_verified_at=None)
        validate_password(password, user)
        user.set_password(password)
        user.full_clean(validate_unique=False)  # the unique index decides, race-free
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:  # the same address signed up a moment ago
            existing = User.objects.get(email_canonical=canonical)
        else:
            security_log(actor=actor, user=user, kind=Kind.SIGNED_UP)
            return user, None
    make_password(password)  # the cost of the other path
    security_log(actor=actor, user=existing, kind=Kind.SIGN_UP_REPEATED)
    return None, existing


def email_verification_resend(*, email: str, base_url: str) -> None:
    """Send a new link if an account with this address is waiting for one; silent otherwise."""
    user = User.objects.filter(
        email_canonical=canonical_email(email), email_verified_at__isnull=True, is_active=True
    ).first()
    if user is not None:
        email_verification_send(user=user, base_url=base_url)


@transaction.atomic
def email_verify(*, actor: Actor, user: User) -> bool:
    """Mark the address verified (the signed link was followed); False if it already was."""
    updated = User.objects.filter(pk=user.pk, email_verified_at__isnull=True).update(
        email_verified_at=timezone.now()
    )
    if updated:
        security_log(actor=actor, user=user, kind=Kind.EMAIL_VERIFIED)
    user.refresh_from_db(fields=["email_verified_at"])
    return bool(updated)


def _password_notice(user: User, what: str) -> None:
    subject, body = _mail("accounts/mail/password_changed.txt", what=what)
    transaction.on_commit(
        lambda: notice_send(
            user=user, subject=subject, body=body, about=f"password:{timezone.now().timestamp()}"
        )
    )


@transaction.atomic
def password_change(*, actor: Actor, user: User, password: str) -> None:
    """A new password, after a step-up; every other session ends (the session hash changes)."""
    actor.require_step_up()
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    security_log(actor=actor, user=user, kind=Kind.PASSWORD_CHANGED)
    _password_notice(user, "changed")


@transaction.atomic
def password_reset_requested(*, actor: Actor, user: User) -> None:
    security_log(actor=actor, user=user, kind=Kind.PASSWORD_RESET_REQUESTED)


@transaction.atomic
def password_reset(*, actor: Actor, user: User, password: str) -> None:
    """A new password from a reset link: the link proved the address, so it counts as verified;
    every session ends and the account's sign-in lockout is lifted."""
    validate_password(password, user)
    user.set_password(password)
    fields = ["password"]
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        fields.append("email_verified_at")
        security_log(actor=actor, user=user, kind=Kind.EMAIL_VERIFIED)
    user.save(update_fields=fields)
    security_log(actor=actor, user=user, kind=Kind.PASSWORD_RESET)
    AxesProxyHandler.reset_attempts(username=user.email_canonical)
    _password_notice(user, "reset")


@transaction.atomic
def sessions_end_others(*, actor: Actor, user: User) -> None:
    """Sign out every session of the account; the caller keeps its own with
    ``update_session_auth_hash``."""
    actor.require_step_up()
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    security_log(actor=actor, user=user, kind=Kind.SIGNED_OUT_EVERYWHERE)


@transaction.atomic
def session_end(*, actor: Actor, user: User, session_id: str, current_key: str | None) -> dict:
    """Sign out one session of the account, named by its public id (never this one: that is
    signing out). Its row goes, so its next request is anonymous. Returns how the page names
    it; raises ``LookupError`` when the account has no such session (any more)."""
    actor.require_step_up()
    for session in Session.objects.select_for_update().filter(user=user):
        if constant_time_compare(public_id(session.session_key), session_id):
            break
    else:
        raise LookupError(session_id)
    if session.session_key == current_key:
        raise ValidationError("This is the session you are using: sign out to end it.")
    ended = {**describe_agent(session.user_agent), "ip": session.ip}
    session.delete()
    label = f"{ended['browser']} on {ended['os']}" + (f", {ended['ip']}" if ended["ip"] else "")
    security_log(actor=actor, user=user, kind=Kind.SESSION_ENDED, label=label)
    return ended


def totp_device_pending(*, user: User) -> TOTPDevice:
    """The unconfirmed authenticator being enrolled (one at a time), created on first need."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


@transaction.atomic
def totp_device_confirm(*, actor: Actor, user: User, token: str) -> list[str] | None:
    """Confirm the pending authenticator with a code from it.

    Returns the fresh backup codes when this is the account's first device (None if the account
    already had backup codes), or raises ValueError if the code is wrong.
    """
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).last()
    if device is None or not device.verify_token(token):
        raise ValueError("That code did not match. Check the time on your phone and try again.")
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    security_log(actor=actor, user=user, kind=Kind.DEVICE_ADDED, device=device.name)
    if StaticDevice.objects.filter(user=user, confirmed=True).exists():
        return None
    return backup_codes_generate(actor=actor, user=user)


@transaction.atomic
def backup_codes_generate(*, actor: Actor, user: User) -> list[str]:
    """Replace the account's backup codes with 10 new single-use ones (returned once)."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name="Backup codes", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [f"{secrets.token_hex(4)}" for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    security_log(actor=actor, user=user, kind=Kind.BACKUP_CODES_GENERATED, count=len(codes))
    return codes


@transaction.atomic
def device_remove(*, actor: Actor, user: User, device_id: int) -> None:
    actor.require_step_up()
    device = TOTPDevice.objects.get(user=user, pk=device_id, confirmed=True)
    device.delete()
    security_log(actor=actor, user=user, kind=Kind.DEVICE_REMOVED, device=device.name)
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        # Backup codes without an authenticator would be a second factor on their own.
        StaticDevice.objects.filter(user=user).delete()


@transaction.atomic
def step_up_verify(*, actor: Actor, user: User, token: str):
    """Check a TOTP or backup code against the user's devices, with django-otp's throttling
    and single use. As django-otp's own ``verify_token``, the devices are locked for the check
    (``for_verify=True`` in a transaction), so one code fired twice at once passes once.
    Returns the matching device or None; logs the outcome either way."""
    token = (token or "").strip().replace(" ", "")
    matched = None
    throttled = False
    if token:
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            allowed, _ = device.verify_is_allowed()
            if not allowed:
                throttled = True
            if device.verify_token(token):
                matched = device
                break
    kind = Kind.STEP_UP_PASSED if matched else Kind.STEP_UP_FAILED
    security_log(
        actor=actor,
        user=user,
        kind=kind,
        **({"device": matched.name} if matched else {"throttled": throttled}),
    )
    return matched


@transaction.atomic
def account_delete(*, actor: Actor, user: User) -> None:
    """Delete the account and everything it owns; its API keys are revoked first."""
    actor.require_step_up()
    for path in settings.ACCOUNT_DELETE_HOOKS:
        import_string(path)(owner=user, actor=actor)
    security_log(actor=actor, user=None, kind=Kind.ACCOUNT_DELETED, user_id=user.pk)
    user.delete()


INACTIVITY_DAYS = (30, 365)
MAX_LIFETIME_DAYS = (1, 3650)


def _policy_days(value, bounds: tuple[int, int], field: str) -> int | None:
    if value in (None, ""):
        return None
    low, high = bounds
    if type(value) is not int or not low <= value <= high:
        raise ValidationError({field: f"Give a number of days from {low} to {high}, or none."})
    return value


@transaction.atomic
def account_key_policy_update(
    *, actor: Actor, user: User, inactivity_days: int | None, max_lifetime_days: int | None
) -> User:
    """Set the account's API key policies (None: off). ``inactivity_days``: keys unused that
    long expire (warned 7 days before); ``max_lifetime_days``: new keys must expire within it
    (existing keys keep their expiry)."""
    actor.require_step_up()
    inactivity = _policy_days(inactivity_days, INACTIVITY_DAYS, "inactivity_days")
    lifetime = _policy_days(max_lifetime_days, MAX_LIFETIME_DAYS, "max_lifetime_days")
    user = User.objects.select_for_update().get(pk=user.pk)
    before = {
        "inactivity_days": user.key_inactivity_days,
        "max_lifetime_days": user.key_max_lifetime_days,
    }
    user.key_inactivity_days, user.key_max_lifetime_days = inactivity, lifetime
    user.save(update_fields=["key_inactivity_days", "key_max_lifetime_days"])
    after = {"inactivity_days": inactivity, "max_lifetime_days": lifetime}
    if after != before:
        security_log(
            actor=actor,
            user=user,
            kind=SecurityEvent.Kind.KEY_POLICY_CHANGED,
            **after,
            previous=before,
        )
    return user
