"""The account's security log: writing a line, aggregating failed sign-ins so they cannot push
other events out of view, and the retention policy."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .actor import Actor
from .models import SecurityEvent, User

Kind = SecurityEvent.Kind
AGGREGATE_WINDOW_SECONDS = 3600
# Past this many addresses in one window, further failures share one row with no address.
AGGREGATE_MAX_ADDRESSES = 10


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
def security_log_sign_in_failure(*, actor: Actor, user: User, refused: bool) -> SecurityEvent:
    """One row per account, client address and hour, counting the failed (or, past the limit,
    refused) sign-ins in it."""
    kind = Kind.SIGN_IN_REFUSED if refused else Kind.SIGN_IN_FAILED
    User.objects.select_for_update().filter(pk=user.pk).exists()  # one writer per account
    now = timezone.now()
    recent = SecurityEvent.objects.filter(
        user=user, kind=kind, created_at__gte=now - timedelta(seconds=AGGREGATE_WINDOW_SECONDS)
    )
    row = recent.filter(ip=actor.ip).first() if actor.ip else None
    ip = actor.ip
    if row is None and recent.filter(ip__isnull=False).count() >= AGGREGATE_MAX_ADDRESSES:
        ip = None
        row = recent.filter(ip__isnull=True).first()
    if row is None:
        event = security_log(actor=actor, user=user, kind=kind)
        if ip is None and actor.ip:
            SecurityEvent.objects.filter(pk=event.pk).update(ip=None)
            event.detail["many_addresses"] = True
            event.save(update_fields=["detail"])
        return event
    SecurityEvent.objects.filter(pk=row.pk).update(
        count=F("count") + 1, last_at=now, user_agent=actor.user_agent
    )
    row.refresh_from_db()
    return row


def _drop(user_id: int, ids: list[int]) -> int:
    if not ids:
        return 0
    dropped, _ = SecurityEvent.objects.filter(pk__in=ids).delete()
    User.objects.filter(pk=user_id).update(
        security_events_dropped=F("security_events_dropped") + dropped
    )
    return dropped


def security_log_trim() -> int:
    """Apply the retention policy; each account counts the rows it lost. Returns how many.

    Rows older than SECURITY_LOG_RETENTION go; an account keeps at most
    SECURITY_LOG_MAX_FAILED_SIGN_IN_ROWS failed-sign-in rows (so failures never evict other
    events) and SECURITY_LOG_MAX_ROWS rows in all, newest first."""
    cutoff = timezone.now() - settings.SECURITY_LOG_RETENTION
    total = 0
    failures = [Kind.SIGN_IN_FAILED, Kind.SIGN_IN_REFUSED]
    user_ids = SecurityEvent.objects.filter(user__isnull=False).values_list("user_id", flat=True)
    for user_id in user_ids.distinct().order_by("user_id").iterator():
        with transaction.atomic():
            rows = SecurityEvent.objects.filter(user_id=user_id)
            old = list(rows.filter(created_at__lt=cutoff).values_list("pk", flat=True))
            total += _drop(user_id, old)
            extra_failures = list(
                rows.filter(kind__in=failures).values_list("pk", flat=True)[
                    settings.SECURITY_LOG_MAX_FAILED_SIGN_IN_ROWS :
                ]
            )
            total += _drop(user_id, extra_failures)
            extra = list(rows.values_list("pk", flat=True)[settings.SECURITY_LOG_MAX_ROWS :])
            total += _drop(user_id, extra)
    SecurityEvent.objects.filter(user__isnull=True, created_at__lt=cutoff).delete()
    return total
