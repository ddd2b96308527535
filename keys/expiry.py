"""What beat does for keys as time passes (``keys.tasks.keys_lifecycle``): warn before a key
expires (e-mail and ``api_key.expiring``, 7 days and 1 day before, once each per expiry date),
announce ``api_key.expired``, expire keys left unused under the owner's inactivity policy (with
an e-mail 7 days before), and end the old token of a rotation whose overlap has passed.

Keys publish their events through ``webhooks.publish.publish_event``, the one function of
webhooks that resources use too; webhooks know nothing of keys."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone

from fibe_access.accounts.actor import Actor
from fibe_access.accounts.notices import notice_send
from webhooks.publish import publish_event

from . import services
from .models import ApiKey

WARN_7_DAYS, WARN_1_DAY, EXPIRED = 1, 2, 3
BEFORE = {WARN_7_DAYS: timedelta(days=7), WARN_1_DAY: timedelta(days=1)}
# api_key.expired is announced for keys that expired this recently (not for old ones).
EXPIRED_ANNOUNCE_WITHIN = timedelta(days=1)
INACTIVITY_WARNING = timedelta(days=7)
BATCH = 500


def keys_lifecycle(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    return {
        "overlaps_ended": overlaps_end_lapsed(now=now),
        "expired_inactive": keys_expire_inactive(now=now),
        "inactivity_warned": keys_warn_inactive(now=now),
        "expiry_warned": keys_warn_expiring(now=now),
    }


def _due_level(key: ApiKey, now: datetime) -> int:
    left = key.expires_at - now
    if left <= timedelta(0):
        return EXPIRED
    if left <= BEFORE[WARN_1_DAY]:
        return WARN_1_DAY
    if left <= BEFORE[WARN_7_DAYS]:
        return WARN_7_DAYS
    return 0


def event_data(key: ApiKey, status: str, **extra) -> dict:
    """What api_key.* events say of a key: never its token."""
    return {
        "id": key.pk,
        "name": key.label,
        "label": key.label,
        "status": status,
        "last4": key.last4,
        "expires_at": key.expires_at,
        **extra,
    }


def keys_warn_expiring(*, now: datetime) -> int:
    """Warn about every key whose next threshold has come, once per threshold and expiry
    date; returns how many warnings (and api_key.expired announcements) were made."""
    candidates = ApiKey.objects.filter(
        status=ApiKey.Status.ACTIVE,
        expires_at__gt=now - EXPIRED_ANNOUNCE_WITHIN,
        expires_at__lte=now + BEFORE[WARN_7_DAYS],
    ).values_list("pk", flat=True)
    made = 0
    for pk in list(candidates.order_by("expires_at")[:BATCH]):
        with transaction.atomic():
            key = ApiKey.objects.select_for_update(of=("self",)).select_related("owner")
            key = key.filter(pk=pk, status=ApiKey.Status.ACTIVE, expires_at__isnull=False).first()
            if key is None:
                continue
            warned = key.expiry_warned_level if key.expiry_warned_for == key.expires_at else 0
            due = _due_level(key, now)
            if due <= warned:
                continue
            key.expiry_warned_for, key.expiry_warned_level = key.expires_at, due
            key.save(update_fields=["expiry_warned_for", "expiry_warned_level"])
            if due == EXPIRED:
                publish_event(
                    owner=key.owner, event="api_key.expired", data=event_data(key, "expired")
                )
            else:
                days = 7 if due == WARN_7_DAYS else 1
                publish_event(
                    owner=key.owner,
                    event="api_key.expiring",
                    data=event_data(key, "active", expires_in_days=days),
                )
                _mail_on_commit(
                    key,
                    _expiring_mail(key, days),
                    f"{key.digest[:8]}:{key.expires_at:%Y%m%d%H%M}:{days}",
                )
            made += 1
    return made


def _keys_url() -> str:
    return reverse("keys:list")


def _expiring_mail(key: ApiKey, days: int) -> tuple[str, str]:
    when = "tomorrow" if days == 1 else f"in {days} days"
    return (
        f"Your Fibe API key “{key.label}” expires {when}",
        f"Your API key “{key.label}” (…{key.last4}) expires {when}, on "
        f"{key.expires_at:%Y-%m-%d %H:%M} UTC. Calls made with it will then fail.\n\n"
        f"Rotate it or create a new key under Profile → API Keys ({_keys_url()}).",
    )


def _mail_on_commit(key: ApiKey, mail: tuple[str, str], about: str) -> None:
    owner, subject, body = key.owner, *mail
    transaction.on_commit(
        lambda: notice_send(user=owner, subject=subject, body=body, about=f"key:{key.pk}:{about}"),
        robust=True,
    )


def _idle_since():
    """When a key was last used, or made or rotated if later (a new token starts afresh)."""
    created = F("created_at")
    return Greatest(Coalesce("last_used_at", created), Coalesce("rotated_at", created))


UNDER_POLICY = Q(owner__key_inactivity_days__isnull=False) & Q(owner__key_inactivity_days__gt=0)


def keys_expire_inactive(*, now: datetime) -> int:
    """Expire the active keys unused for longer than their owner's inactivity policy."""
    keys = (
        ApiKey.objects.filter(UNDER_POLICY, status=ApiKey.Status.ACTIVE)
        .exclude(expires_at__lte=now)
        .annotate(idle_since=_idle_since())
        .select_related("owner")
    )
    expired = 0
    for key in list(keys[: BATCH * 4]):
        cutoff = now - timedelta(days=key.owner.key_inactivity_days)
        if key.idle_since > cutoff:
            continue
        with transaction.atomic():
            fresh = ApiKey.objects.select_for_update().filter(pk=key.pk)
            fresh = fresh.annotate(idle_since=_idle_since()).first()  # used meanwhile?
            if fresh is None or fresh.status != ApiKey.Status.ACTIVE or fresh.idle_since > cutoff:
                continue
            services.key_expire_now(actor=Actor.system(), key=fresh, reason="inactive")
        expired += 1
    return expired


def keys_warn_inactive(*, now: datetime) -> int:
    """E-mail the owner 7 days before a key would expire for being unused, once per idle
    stretch (a key used again and left idle again is warned again)."""
    keys = (
        ApiKey.objects.filter(UNDER_POLICY, status=ApiKey.Status.ACTIVE)
        .exclude(expires_at__lte=now)
        .annotate(idle_since=_idle_since())
        .filter(Q(inactivity_warned_at__isnull=True) | Q(inactivity_warned_at__lt=F("idle_since")))
        .select_related("owner")
    )
    warned = 0
    for key in list(keys[: BATCH * 4]):
        days = key.owner.key_inactivity_days
        ends = key.idle_since + timedelta(days=days)
        if ends - INACTIVITY_WARNING > now:
            continue
        with transaction.atomic():
            updated = (
                ApiKey.objects.filter(pk=key.pk)
                .filter(
                    Q(inactivity_warned_at__isnull=True)
                    | Q(inactivity_warned_at__lt=key.idle_since)
                )
                .update(inactivity_warned_at=now)
            )
            if not updated:
                continue
            subject = f"Your Fibe API key “{key.label}” will expire for being unused"
            body = (
                f"Your API key “{key.label}” (…{key.last4}) has not been used since "
                f"{key.idle_since:%Y-%m-%d}. Your account expires keys unused for {days} days, "
                f"so it will expire on {ends:%Y-%m-%d %H:%M} UTC unless it is used before.\n\n"
                f"Manage your keys under Profile → API Keys ({_keys_url()})."
            )
            _mail_on_commit(key, (subject, body), f"idle:{key.idle_since:%Y%m%d%H%M}")
        warned += 1
    return warned


def overlaps_end_lapsed(*, now: datetime) -> int:
    """Clear the old token of every rotation whose overlap has passed (it already fails on
    the request path), leaving a security-log row for its end."""
    lapsed = ApiKey.objects.exclude(previous_digest="").filter(previous_expires_at__lte=now)
    ended = 0
    for key in list(lapsed[:BATCH]):
        services.key_end_overlap(actor=Actor.system(), key=key, reason="lapsed")
        ended += 1
    return ended
