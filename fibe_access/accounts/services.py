"""Every write of the accounts app. Each takes the acting ``Actor`` and leaves an audit row in
the same transaction."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils.module_loading import import_string
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .actor import Actor
from .models import SecurityEvent, User

BACKUP_CODE_COUNT = 10
Kind = SecurityEvent.Kind


def security_log(*, actor: Actor, user: User | None, kind: str, **detail) -> SecurityEvent:
    """The one way any app writes to an account's security log."""
    return SecurityEvent.objects.create(
        user=user,
        kind=kind,
        ip=actor.ip,
        user_agent=actor.user_agent,
        detail={"source": actor.source, **detail},
    )


@transaction.atomic
def user_signup(*, actor: Actor, email: str, password: str) -> User:
    user = User(email=User.objects.normalize_email(email).lower())
    validate_password(password, user)
    user.set_password(password)
    user.full_clean()
    user.save()
    security_log(actor=actor, user=user, kind=Kind.SIGNED_UP)
    return user


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


def step_up_verify(*, actor: Actor, user: User, token: str):
    """Check a TOTP or backup code against the user's devices, with django-otp's throttling
    and single use. Returns the matching device or None; logs the outcome either way."""
    from django_otp import devices_for_user

    token = (token or "").strip().replace(" ", "")
    matched = None
    throttled = False
    if token:
        for device in devices_for_user(user, confirmed=True):
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
