"""Every write to API keys. Key management is a sensitive action: a web actor must have passed
a step-up (checked first), and every write leaves a security-log line in its transaction.
Tokens are returned to the caller once and never stored or logged in plain text."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from fibe_access import keyring, sealed
from fibe_access.accounts.actor import Actor
from fibe_access.accounts.models import SecurityEvent
from fibe_access.accounts.services import security_log
from fibe_access.accounts.verification import require_verified
from fibe_access.resources.registry import restrictable

from . import allowlist, cache, scopes, tokens
from .models import ApiKey

Kind = SecurityEvent.Kind
MAX_RESTRICTED_IDS = 100
MAX_ID = 2**63 - 1
# How long the old token of a rotation may keep working (the rotate page's choices).
OVERLAPS = {
    "now": None,
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}


def clean_restrictions(*, owner, scope_names: list[str], restrictions) -> dict[str, list[int]]:
    """Validate ``{family: [ids]}`` against the chosen scopes and the owner's resources.

    Raises ValidationError on ``restrictions`` naming what is wrong: a family none of the scopes
    covers, an empty or malformed list, or an ID that does not exist in the owner's account
    (another account's resource reads exactly like a missing one)."""
    if not restrictions:
        return {}
    if not isinstance(restrictions, dict):
        raise ValidationError({"restrictions": "Give restrictions as {family: [IDs]}."})
    allowed = scopes.restrictable_families(scope_names)
    out: dict[str, list[int]] = {}
    for raw_family, ids in restrictions.items():
        family = scopes.canonical_family(str(raw_family))
        if family not in allowed:
            raise ValidationError(
                {
                    "restrictions": (
                        f"Cannot restrict '{raw_family}': none of the chosen scopes covers "
                        f"that family (restrictable here: {', '.join(sorted(allowed)) or 'none'})."
                    )
                }
            )
        if (
            not isinstance(ids, list | tuple)
            or not ids
            or len(ids) > MAX_RESTRICTED_IDS
            or not all(type(i) is int and 1 <= i <= MAX_ID for i in ids)
        ):
            raise ValidationError(
                {
                    "restrictions": (
                        f"Restriction on '{family}' must be a list of 1 to {MAX_RESTRICTED_IDS} "
                        f"resource IDs."
                    )
                }
            )
        target = restrictable(family)
        if target is None:
            raise ValidationError({"restrictions": f"'{family}' cannot be restricted yet."})
        model = target.model
        wanted = set(ids) | set(out.get(family, []))
        found = set(model.objects.filter(owner=owner, pk__in=wanted).values_list("pk", flat=True))
        missing = sorted(wanted - found)
        if missing:
            raise ValidationError(
                {
                    "restrictions": (
                        f"No {family} with ID {', '.join(map(str, missing))} in your account: "
                        f"a key can only be restricted to resources you own."
                    )
                }
            )
        out[family] = sorted(wanted)
    return out


def clean_allowed_ips(allowed_ips) -> list[str]:
    try:
        return allowlist.normalize(allowed_ips)
    except allowlist.AllowListError as exc:
        raise ValidationError({"allowed_ips": str(exc)}) from None


def clean_expiry(*, owner, expires_at: datetime | None) -> datetime | None:
    """The expiry of a new key under its owner's maximum-lifetime policy (if any)."""
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise ValidationError({"expires_at": "Choose an expiry date in the future."})
    days = owner.key_max_lifetime_days
    if days:
        if expires_at is None:
            raise ValidationError(
                {"expires_at": f"Your account requires keys to expire within {days} days."}
            )
        if expires_at > now + timedelta(days=days, minutes=5):
            raise ValidationError(
                {"expires_at": f"Your account caps a key's lifetime at {days} days."}
            )
    return expires_at


def _set_token(key: ApiKey) -> str:
    token = tokens.generate()
    key.digest = tokens.digest(token)
    key.last4 = token[-4:]
    key.encrypted_token = sealed.seal(key, "encrypted_token", token) if key.is_agent else ""
    return token


@transaction.atomic
def key_create(
    *,
    actor: Actor,
    owner,
    label: str,
    scope_names: list[str],
    expires_at: datetime | None = None,
    restrictions: dict | None = None,
    is_agent: bool = False,
    rate_limit_per_minute: int | None = None,
    allowed_ips: list[str] | None = None,
    confirm_destructive: bool | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns it with its token, which is never available again.
    ``confirm_destructive`` None: on for an agent key, off for others."""
    actor.require_step_up()
    require_verified(actor=actor, owner=owner)
    try:
        names = scopes.parse(scope_names)
    except scopes.ScopeError as exc:
        raise ValidationError({"scopes": str(exc)}) from exc
    if "\x00" in (label or ""):
        raise ValidationError({"label": "Null characters are not allowed."})
    expires_at = clean_expiry(owner=owner, expires_at=expires_at)
    key = ApiKey(
        owner=owner,
        label=(label or "").strip(),
        scopes=names,
        expires_at=expires_at,
        restrictions=clean_restrictions(owner=owner, scope_names=names, restrictions=restrictions),
        is_agent=bool(is_agent),
        rate_limit_per_minute=rate_limit_per_minute,
        allowed_ips=clean_allowed_ips(allowed_ips),
        confirm_destructive=bool(is_agent if confirm_destructive is None else confirm_destructive),
    )
    token = _set_token(key)
    key.full_clean()
    key.save()
    security_log(
        actor=actor, user=owner, kind=Kind.KEY_CREATED, label=key.label, key_id=key.pk, scopes=names
    )
    return key, token


def _locked(key: ApiKey) -> ApiKey:
    return ApiKey.objects.select_for_update().get(pk=key.pk)


@transaction.atomic
def key_rotate(*, actor: Actor, key: ApiKey, overlap: str = "now") -> tuple[ApiKey, str]:
    """Issue a new secret. The old one stops working as this commits (``overlap="now"``) or
    keeps working for the overlap chosen (``OVERLAPS``); a token an earlier overlap kept
    stops at once either way."""
    actor.require_step_up()
    if overlap not in OVERLAPS:
        raise ValidationError({"overlap": f"Choose one of: {', '.join(OVERLAPS)}."})
    key = _locked(key)
    if key.current_status() == ApiKey.Status.REVOKED:
        raise ValidationError({"status": "A revoked key cannot be rotated."})
    cache.key_changing(key.digest, key.previous_digest)
    now = timezone.now()
    ended_previous = key.previous_usable(now)
    old_digest, old_last4 = key.digest, key.last4
    token = _set_token(key)
    key.rotated_at = now
    window = OVERLAPS[overlap]
    key.previous_digest = old_digest if window else ""
    key.previous_last4 = old_last4 if window else ""
    key.previous_expires_at = now + window if window else None
    key.expiry_warned_level, key.expiry_warned_for = 0, None  # warn again for the new token
    key.save(
        update_fields=[
            "digest",
            "last4",
            "encrypted_token",
            "rotated_at",
            "previous_digest",
            "previous_last4",
            "previous_expires_at",
            "expiry_warned_level",
            "expiry_warned_for",
        ]
    )
    detail = {"label": key.label, "key_id": key.pk, "overlap": overlap}
    if window:
        detail["old_token_stops_at"] = key.previous_expires_at.isoformat()
    if ended_previous:
        detail["earlier_old_token_stopped"] = True
    security_log(actor=actor, user=key.owner, kind=Kind.KEY_ROTATED, **detail)
    return key, token


@transaction.atomic
def key_end_overlap(*, actor: Actor, key: ApiKey, reason: str = "stopped") -> ApiKey:
    """Stop the old token of an overlapping rotation now ("Stop it now"; ``reason="lapsed"``
    when beat clears one whose window has passed)."""
    actor.require_step_up()
    key = _locked(key)
    if not key.previous_digest:
        return key
    cache.key_changing(key.previous_digest)
    last4 = key.previous_last4
    key.previous_digest, key.previous_last4, key.previous_expires_at = "", "", None
    key.save(update_fields=["previous_digest", "previous_last4", "previous_expires_at"])
    security_log(
        actor=actor,
        user=key.owner,
        kind=Kind.KEY_OLD_TOKEN_ENDED,
        label=key.label,
        key_id=key.pk,
        old_last4=last4,
        reason=reason,
    )
    return key


@transaction.atomic
def key_set_allowed_ips(*, actor: Actor, key: ApiKey, allowed_ips) -> ApiKey:
    """Replace the key's IP allow-list (empty: any address); applies from the commit on."""
    actor.require_step_up()
    cleaned = clean_allowed_ips(allowed_ips)
    key = _locked(key)
    if cleaned == (key.allowed_ips or []):
        return key
    cache.key_changing(key.digest, key.previous_digest)
    before = key.allowed_ips or []
    key.allowed_ips = cleaned
    key.save(update_fields=["allowed_ips"])
    security_log(
        actor=actor,
        user=key.owner,
        kind=Kind.KEY_ALLOWED_IPS_CHANGED,
        label=key.label,
        key_id=key.pk,
        allowed_ips=cleaned,
        previous=before,
    )
    return key


@transaction.atomic
def key_expire_now(*, actor: Actor, key: ApiKey, reason: str = "") -> ApiKey:
    """Expire the key and the old token of a rotation, from the commit on."""
    actor.require_step_up()
    key = _locked(key)
    if key.status == ApiKey.Status.ACTIVE:
        cache.key_changing(key.digest, key.previous_digest)
        key.status = ApiKey.Status.EXPIRED
        key.expires_at = min(key.expires_at or timezone.now(), timezone.now())
        key.previous_digest, key.previous_last4, key.previous_expires_at = "", "", None
        key.save(
            update_fields=[
                "status",
                "expires_at",
                "previous_digest",
                "previous_last4",
                "previous_expires_at",
            ]
        )
    security_log(
        actor=actor,
        user=key.owner,
        kind=Kind.KEY_EXPIRED,
        label=key.label,
        key_id=key.pk,
        **({"reason": reason} if reason else {}),
    )
    return key


@transaction.atomic
def key_delete(*, actor: Actor, key: ApiKey) -> None:
    actor.require_step_up()
    key = _locked(key)
    security_log(actor=actor, user=key.owner, kind=Kind.KEY_DELETED, label=key.label, key_id=key.pk)
    key.delete()
    cache.key_changing(key.digest, key.previous_digest)


@transaction.atomic
def key_set_confirm_destructive(*, actor: Actor, key: ApiKey, on: bool) -> ApiKey:
    """Turn "Confirm destructive actions" on or off for a key (issue 22)."""
    actor.require_step_up()
    key = _locked(key)
    if key.confirm_destructive != bool(on):
        key.confirm_destructive = bool(on)
        key.save(update_fields=["confirm_destructive"])
        cache.key_changing(key.digest, key.previous_digest)
    security_log(
        actor=actor,
        user=key.owner,
        kind=Kind.KEY_CONFIRM_CHANGED,
        label=key.label,
        key_id=key.pk,
        on=key.confirm_destructive,
    )
    return key


@transaction.atomic
def key_reveal(*, actor: Actor, key: ApiKey) -> str:
    """The token of an agent key, for its owner after a step-up; every reveal is logged."""
    actor.require_step_up()
    if not key.is_agent or not key.encrypted_token:
        raise ValidationError({"is_agent": "Only agent keys can be revealed."})
    try:
        token = sealed.reveal(key, "encrypted_token")
    except keyring.UndecryptableError:
        raise ValidationError(
            {
                "is_agent": "This token was encrypted with a key this server no longer has, so it "
                "cannot be shown. Rotate the key to issue a new token."
            }
        ) from None
    security_log(
        actor=actor, user=key.owner, kind=Kind.KEY_REVEALED, label=key.label, key_id=key.pk
    )
    return token


@transaction.atomic
def key_revoke_all_for_owner(*, owner, actor: Actor) -> int:
    """Revoke every key of an account at once (account deletion); returns how many."""
    actor.require_step_up()
    keys = list(
        ApiKey.objects.select_for_update().filter(owner=owner).exclude(status=ApiKey.Status.REVOKED)
    )
    ApiKey.objects.filter(pk__in=[k.pk for k in keys]).update(
        status=ApiKey.Status.REVOKED,
        encrypted_token="",
        previous_digest="",
        previous_last4="",
        previous_expires_at=None,
    )
    for key in keys:
        cache.key_changing(key.digest, key.previous_digest)
        security_log(actor=actor, user=owner, kind=Kind.KEY_REVOKED, label=key.label, key_id=key.pk)
    return len(keys)


@transaction.atomic
def key_revoke(*, actor: Actor, key: ApiKey) -> ApiKey:
    """Revoke one key for good (staff in the admin); it cannot be rotated back to life."""
    actor.require_step_up()
    key = _locked(key)
    if key.status != ApiKey.Status.REVOKED:
        cache.key_changing(key.digest, key.previous_digest)
        key.status = ApiKey.Status.REVOKED
        key.encrypted_token = ""
        key.previous_digest, key.previous_last4, key.previous_expires_at = "", "", None
        key.save(
            update_fields=[
                "status",
                "encrypted_token",
                "previous_digest",
                "previous_last4",
                "previous_expires_at",
            ]
        )
    security_log(actor=actor, user=key.owner, kind=Kind.KEY_REVOKED, label=key.label, key_id=key.pk)
    return key
