"""The account's security log: writing a line, aggregating failed sign-ins so they cannot push
other events out of view, and the retention policy."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
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


TRIM_BATCH = 1000  # rows per DELETE
TRIM_MAX_BATCHES = 100  # DELETEs a run; the next run takes the rest


def _drop(ids_users: list[tuple[int, int | None]]) -> int:
    """Delete these (id, user id) rows in one statement; each account counts its loss."""
    if not ids_users:
        return 0
    SecurityEvent.objects.filter(pk__in=[pk for pk, _ in ids_users])._raw_delete(
        SecurityEvent.objects.db
    )
    lost = Counter(user_id for _, user_id in ids_users if user_id is not None)
    if lost:
        User.objects.filter(pk__in=lost).update(
            security_events_dropped=F("security_events_dropped")
            + Case(*(When(pk=pk, then=Value(n)) for pk, n in lost.items()))
        )
    return len(ids_users)


def _drop_all(rows, budget: list[int]) -> int:
    """Delete the rows of ``rows`` (a queryset in the order to drop) in batches, while
    ``budget[0]`` batches remain."""
    total = 0
    while budget[0] > 0:
        budget[0] -= 1
        with transaction.atomic():
            batch = list(rows.values_list("pk", "user_id")[:TRIM_BATCH])
            total += _drop(batch)
        if len(batch) < TRIM_BATCH:
            break
    return total


# Accounts that wrote since this long ago are checked against the caps each run: only a new
# row can put an account over one. Kept well above beat's hourly interval, so a missed run or
# two changes nothing; an account that went over while beat was stopped for longer is trimmed
# after its next row.
TRIM_WINDOW = timedelta(days=1)
_OVER_CAP = """
SELECT u.user_id FROM (
    SELECT DISTINCT user_id FROM accounts_securityevent
    WHERE created_at >= %(since)s AND user_id IS NOT NULL
) u
WHERE EXISTS (
    SELECT 1 FROM accounts_securityevent s WHERE s.user_id = u.user_id
    OFFSET %(max_rows)s LIMIT 1
) OR EXISTS (
    SELECT 1 FROM accounts_securityevent s
    WHERE s.user_id = u.user_id AND s.kind = ANY(%(failures)s)
    OFFSET %(max_failures)s LIMIT 1
)
"""


def security_log_trim() -> int:
    """Apply the retention policy; each account counts the rows it lost. Returns how many.

    Rows older than SECURITY_LOG_RETENTION go; an account keeps at most
    SECURITY_LOG_MAX_FAILED_SIGN_IN_ROWS failed-sign-in rows (so failures never evict other
    events) and SECURITY_LOG_MAX_ROWS rows in all, newest first.

    What a run reads grows with what changed, never with the log: expired rows oldest first
    on the created_at index, and the caps checked in one statement for the accounts that
    wrote within TRIM_WINDOW (each probe stops at the cap's row on an index). Deletes go in
    batches of TRIM_BATCH, at most TRIM_MAX_BATCHES a run."""
    now = timezone.now()
    budget = [TRIM_MAX_BATCHES]
    total = _drop_all(
        SecurityEvent.objects.filter(created_at__lt=now - settings.SECURITY_LOG_RETENTION).order_by(
            "created_at"
        ),
        budget,
    )
    failures = [Kind.SIGN_IN_FAILED.value, Kind.SIGN_IN_REFUSED.value]
    with connection.cursor() as cursor:
        cursor.execute(
            _OVER_CAP,
            {
                "since": now - TRIM_WINDOW,
                "max_rows": settings.SECURITY_LOG_MAX_ROWS,
                "max_failures": settings.SECURITY_LOG_MAX_FAILED_SIGN_IN_ROWS,
                "failures": failures,
            },
        )
        over = [row[0] for row in cursor.fetchall()]
    for user_id in over:
        rows = SecurityEvent.objects.filter(user_id=user_id).order_by("-created_at", "-id")
        surplus = rows.filter(kind__in=failures)[settings.SECURITY_LOG_MAX_FAILED_SIGN_IN_ROWS :]
        total += _drop_all(SecurityEvent.objects.filter(pk__in=surplus.values("pk")), budget)
        surplus = rows[settings.SECURITY_LOG_MAX_ROWS :]
        total += _drop_all(SecurityEvent.objects.filter(pk__in=surplus.values("pk")), budget)
    return total
