"""Every write to API keys. Key management is a sensitive action: a web actor must have passed
a step-up (checked first), and every write leaves a security-log line in its transaction.
Tokens are returned to the caller once and never stored or logged in plain text."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from fibe_access import keyring
from fibe_access.accounts.actor import Actor
from fibe_access.accounts.models import SecurityEvent
from fibe_access.accounts.services import security_log
from fibe_access.accounts.verification import require_verified
from fibe_access.resources.registry import restrictable

from . import cache, scopes, tokens
from .models import ApiKey

Kind = SecurityEvent.Kind
MAX_RESTRICTED_IDS = 100
MAX_ID = 2**63 - 1


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


def _forget(digest: str) -> None:
    """Stop every process trusting its cached copy of this key from now until the change
    commits, then make them re-read it (see keys.cache)."""
    cache.change_begin(digest)
    transaction.on_commit(lambda: cache.change_done(digest))


def _set_token(key: ApiKey) -> str:
    token = tokens.generate()
    key.digest = tokens.digest(token)
    key.last4 = token[-4:]
    key.encrypted_token = keyring.encrypt(token, context=key.digest) if key.is_agent else ""
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
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "Choose an expiry date in the future."})
    key = ApiKey(
        owner=owner,
        label=(label or "").strip(),
        scopes=names,
        expires_at=expires_at,
        restrictions=clean_restrictions(owner=owner, scope_names=names, restrictions=restrictions),
        is_agent=bool(is_agent),
        rate_limit_per_minute=rate_limit_per_minute,
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
def key_rotate(*, actor: Actor, key: ApiKey) -> tuple[ApiKey, str]:
    """Issue a new secret; the old one stops working as this commits."""
    actor.require_step_up()
    key = _locked(key)
    if key.current_status() == ApiKey.Status.REVOKED:
        raise ValidationError({"status": "A revoked key cannot be rotated."})
    _forget(key.digest)
    token = _set_token(key)
    key.rotated_at = timezone.now()
    key.save(update_fields=["digest", "last4", "encrypted_token", "rotated_at"])
    security_log(actor=actor, user=key.owner, kind=Kind.KEY_ROTATED, label=key.label, key_id=key.pk)
    return key, token


@transaction.atomic
def key_expire_now(*, actor: Actor, key: ApiKey) -> ApiKey:
    actor.require_step_up()
    key = _locked(key)
    if key.status == ApiKey.Status.ACTIVE:
        key.status = ApiKey.Status.EXPIRED
        key.expires_at = min(key.expires_at or timezone.now(), timezone.now())
        key.save(update_fields=["status", "expires_at"])
        _forget(key.digest)
    security_log(actor=actor, user=key.owner, kind=Kind.KEY_EXPIRED, label=key.label, key_id=key.pk)
    return key


@transaction.atomic
def key_delete(*, actor: Actor, key: ApiKey) -> None:
    actor.require_step_up()
    key = _locked(key)
    security_log(actor=actor, user=key.owner, kind=Kind.KEY_DELETED, label=key.label, key_id=key.pk)
    key.delete()
    _forget(key.digest)


@transaction.atomic
def key_set_confirm_destructive(*, actor: Actor, key: ApiKey, on: bool) -> ApiKey:
    """Turn "Confirm destructive actions" on or off for a key (issue 22)."""
    actor.require_step_up()
    key = _locked(key)
    if key.confirm_destructive != bool(on):
        key.confirm_destructive = bool(on)
        key.save(update_fields=["confirm_destructive"])
        _forget(key.digest)
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
        token = keyring.decrypt(key.encrypted_token, context=key.digest)
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
        status=ApiKey.Status.REVOKED, encrypted_token=""
    )
    for key in keys:
        _forget(key.digest)
        security_log(actor=actor, user=owner, kind=Kind.KEY_REVOKED, label=key.label, key_id=key.pk)
    return len(keys)


@transaction.atomic
def key_revoke(*, actor: Actor, key: ApiKey) -> ApiKey:
    """Revoke one key for good (staff in the admin); it cannot be rotated back to life."""
    actor.require_step_up()
    key = _locked(key)
    if key.status != ApiKey.Status.REVOKED:
        key.status = ApiKey.Status.REVOKED
        key.encrypted_token = ""
        key.save(update_fields=["status", "encrypted_token"])
        _forget(key.digest)
    security_log(actor=actor, user=key.owner, kind=Kind.KEY_REVOKED, label=key.label, key_id=key.pk)
    return key


def keys_reencrypt(*, actor: Actor) -> dict:
    """Move every agent key's stored token under the current encryption key (an operator's
    command). Returns counts, and the ids no configured key could open."""
    current = keyring.current_key_id()
    moved, already, undecryptable = 0, 0, []
    ids = ApiKey.objects.exclude(encrypted_token="").values_list("pk", flat=True)
    for pk in list(ids.order_by("pk")):
        with transaction.atomic():
            key = (
                ApiKey.objects.select_for_update().filter(pk=pk).exclude(encrypted_token="").first()
            )
            if key is None:
                continue
            if keyring.key_id_of(key.encrypted_token) == current:
                already += 1
                continue
            try:
                token = keyring.decrypt(key.encrypted_token, context=key.digest)
            except keyring.UndecryptableError:
                undecryptable.append(pk)
                continue
            key.encrypted_token = keyring.encrypt(token, context=key.digest)
            key.save(update_fields=["encrypted_token"])
            moved += 1
    return {"reencrypted": moved, "already_current": already, "undecryptable": undecryptable}
