"""Listen sessions: the account's events pulled over an outbound long-poll (``fibe listen``, or
any program without a public URL), as DESIGN.md's "Listen sessions" draws it.

Capture: ``publish_event`` (and ``trigger``) add one ``ListenEvent`` row per live session told
about the event, in the transaction that records the event, so a committed event is never
missed and a rolled-back one never seen. Hand-out: ``events_poll`` numbers the session's new
rows under the session's row lock (``seq``, in the order they are handed out, so a late commit
cannot slip behind a cursor), answers every row after the client's cursor, and deletes the rows
at or before it (the client has them). A client that lost an answer polls again with its old
cursor and gets the same rows, with the same ids: nothing lost, nothing repeated.

Each event comes with the body and headers a real delivery has, signed with the session's
secret by ``signing.signed_headers``. Each event handed out for the first time gets a row in
the listen delivery log (``listen_log``), completed by what the client reports.

A session not polled for WEBHOOKS_LISTEN_TTL seconds has lapsed: no longer captured for, gone
from the page; ``sessions_expire`` (the beat, and the owner's next open) deletes it with its
queued events. Opening, ending (DELETE) and lapsing each write a security-log row naming the
key and the host."""

from __future__ import annotations

import base64
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fibe_access.accounts.actor import Actor
from fibe_access.accounts.securitylog import Kind, security_log

from . import listen_log, signing
from .models import Event, ListenEvent, ListenSession

POLL_INTERVAL = 0.2  # seconds between looks at the session's rows while a poll waits
MAX_BATCH = 100  # events in one answer


def ttl() -> timedelta:
    return timedelta(seconds=settings.WEBHOOKS_LISTEN_TTL)


def live(owner) -> list[ListenSession]:
    """The owner's live sessions, newest first."""
    since = timezone.now() - ttl()
    return list(ListenSession.objects.filter(owner=owner, last_polled_at__gte=since))


def listening(owner, event: str) -> list[int]:
    """IDs of the owner's live sessions told about ``event``."""
    return [s.pk for s in live(owner) if event in s.events]


def live_events(owner):
    """The owner's live sessions as (id, events) rows, a query to combine with another."""
    since = timezone.now() - ttl()
    return ListenSession.objects.filter(owner=owner, last_polled_at__gte=since).values_list(
        "pk", "events"
    )


def capture(event: Event, session_ids: list[int], *, is_test: bool = False) -> None:
    """Queue ``event`` for each session (inside the caller's transaction)."""
    ListenEvent.objects.bulk_create(
        [ListenEvent(session_id=i, event=event, is_test=is_test) for i in session_ids]
    )


def standard_secret(secret: str) -> str:
    """The secret in the ``whsec_…`` form Standard Webhooks libraries take: the base64 of the
    bytes that key the HMAC (``signing`` keys with the secret's UTF-8 bytes)."""
    return "whsec_" + base64.b64encode(secret.encode()).decode()


@transaction.atomic
def session_open(
    *, actor, owner, events: list[str], host: str, key_label: str = ""
) -> ListenSession:
    """Open a session for ``owner`` told about ``events`` (already limited by the caller to
    what the key could subscribe to); the owner's lapsed sessions are ended first."""
    sessions_expire(owner=owner)
    session = ListenSession.objects.create(
        owner=owner,
        api_key_id=actor.api_key_id,
        key_label=key_label,
        host=host,
        events=list(dict.fromkeys(events)),
        secret=secrets.token_urlsafe(32),
        last_polled_at=timezone.now(),
    )
    _log(actor, session, Kind.LISTEN_STARTED, f"on {_host(session)}")
    return session


def session_get(*, owner, session_id: int, api_key_id) -> ListenSession | None:
    """A live session of ``owner`` opened with the same key, or None."""
    return ListenSession.objects.filter(
        pk=session_id,
        owner=owner,
        api_key_id=api_key_id,
        last_polled_at__gte=timezone.now() - ttl(),
    ).first()


@transaction.atomic
def session_close(*, actor, session: ListenSession) -> None:
    """End ``session`` now (its client said so): its queued events go with it."""
    if ListenSession.objects.select_for_update().filter(pk=session.pk).delete()[0]:
        _log(actor, session, Kind.LISTEN_ENDED, f"on {_host(session)}, ended by its client")


def sessions_expire(*, owner=None) -> int:
    """End every lapsed session (of ``owner`` only, when given): delete it with its queued
    events and log the lapse. Sessions a poll holds locked are left for the next run."""
    cutoff = timezone.now() - ttl()
    lapsed = ListenSession.objects.filter(last_polled_at__lt=cutoff)
    if owner is not None:
        lapsed = lapsed.filter(owner=owner)
    ended = 0
    with transaction.atomic():
        # the lock re-reads last_polled_at: a session polled meanwhile no longer matches
        locked = lapsed.select_for_update(skip_locked=True, of=("self",)).select_related("owner")
        for session in locked:
            reason = f"on {_host(session)}, not polled for {settings.WEBHOOKS_LISTEN_TTL} s"
            _log(Actor.system(), session, Kind.LISTEN_ENDED, reason)
            session.delete()
            ended += 1
    return ended


def _host(session: ListenSession) -> str:
    return session.host or "an unnamed host"


def _log(actor, session: ListenSession, kind: str, reason: str) -> None:
    security_log(
        actor=actor,
        user=session.owner,
        kind=kind,
        reason=reason,
        label=session.key_label,
        key_id=session.api_key_id,
        host=session.host,
        session_id=session.pk,
    )


def events_poll(*, session: ListenSession, cursor: int, wait: float) -> tuple[list[dict], int]:
    """Events of ``session`` after ``cursor`` (waiting up to ``wait`` seconds for one), and the
    cursor to send next. Rows at or before ``cursor`` are deleted."""
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        rows = _hand_out(session, cursor)
        if rows is None:  # the session ended (DELETE, expiry) while we waited
            return [], cursor
        if rows or time.monotonic() >= deadline:
            break
        time.sleep(POLL_INTERVAL)
    next_cursor = rows[-1].seq if rows else cursor
    return [_message(session, row) for row in rows], next_cursor


@transaction.atomic
def _hand_out(session: ListenSession, cursor: int) -> list[ListenEvent] | None:
    locked = ListenSession.objects.select_for_update().filter(pk=session.pk).first()
    if locked is None:
        return None
    ListenEvent.objects.filter(session=locked, seq__lte=cursor).delete()
    fresh = list(
        ListenEvent.objects.filter(session=locked, seq__isnull=True)
        .select_related("event")
        .defer("event__body")
        .order_by("id")[:MAX_BATCH]
    )
    seq = locked.next_seq
    for row in fresh:
        row.seq, seq = seq, seq + 1
    if fresh:
        ListenEvent.objects.bulk_update(fresh, ["seq"])
        listen_log.handed_out(locked, fresh)
    ListenSession.objects.filter(pk=locked.pk).update(next_seq=seq, last_polled_at=timezone.now())
    return list(
        ListenEvent.objects.filter(session=locked, seq__gt=cursor)
        .select_related("event")
        .order_by("seq")[:MAX_BATCH]
    )


def _message(session: ListenSession, row: ListenEvent) -> dict:
    body = bytes(row.event.body)
    headers = signing.signed_headers(
        event=row.event.type,
        delivery_id=str(row.uid),
        secret=session.signing_secret,
        body=body,
        timestamp=int(time.time()),
    )
    return {
        "id": str(row.uid),
        "seq": row.seq,
        "event": row.event.type,
        "created_at": row.event.created_at,
        "headers": headers,
        "body": body.decode(),
    }
