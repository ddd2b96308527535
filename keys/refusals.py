"""Requests refused because they came from an address outside the key's allow-list: a 403
``ip_not_allowed``, and one security-log row per key and hour counting them."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone

from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent
from fibe_access.accounts.services import security_log
from fibe_access.api.errors import ApiError

from .models import ApiKey

logger = logging.getLogger(__name__)
HOUR = 3600
_rows: dict[tuple[int, int], int] = {}  # (key id, hour) -> the row this process counts on
_lock = threading.Lock()


class IpNotAllowed(ApiError):  # noqa: N818 - named for the code it becomes
    status = 403
    code = "ip_not_allowed"


def ip_refused(key: ApiKey, ip: str | None) -> IpNotAllowed:
    """Count the refusal in the security log; returns the error to raise."""
    try:
        _count(key, ip)
    except DatabaseError:  # a log write failing must not change the answer
        logger.warning("could not count a refused address for key %s", key.pk)
    return IpNotAllowed(
        f"This API key may not be used from {ip or 'an unknown address'}: it is limited to "
        "the addresses on its allow-list."
    )


def _count(key: ApiKey, ip: str | None) -> None:
    hour = int(time.time() // HOUR)
    with _lock:
        row_id = _rows.get((key.pk, hour))
    now = timezone.now()
    if row_id is not None and SecurityEvent.objects.filter(pk=row_id).update(
        count=F("count") + 1, last_at=now, ip=ip
    ):
        return
    with transaction.atomic():
        ApiKey.objects.select_for_update().filter(pk=key.pk).exists()  # one writer per key
        start = datetime.fromtimestamp(hour * HOUR, tz=UTC)
        row = SecurityEvent.objects.filter(
            user_id=key.owner_id,
            kind=SecurityEvent.Kind.KEY_IP_REFUSED,
            detail__key_id=key.pk,
            created_at__gte=start,
        ).first()
        if row is None:
            row = security_log(
                actor=Actor(user=None, source=Source.API, ip=ip),
                user=key.owner,
                kind=SecurityEvent.Kind.KEY_IP_REFUSED,
                label=key.label,
                key_id=key.pk,
            )
        else:
            SecurityEvent.objects.filter(pk=row.pk).update(count=F("count") + 1, last_at=now, ip=ip)
    with _lock:
        if len(_rows) > 4096:
            _rows.clear()
        _rows[(key.pk, hour)] = row.pk
