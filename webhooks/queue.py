"""The delivery queue: puts deliveries on the broker after the caller's transaction commits.

Tasks are sent by name, so publishing, services and the delivery engine never import the task
module (which imports them). A lost message only delays a delivery: the beat scan
(``delivery.deliveries_enqueue_due``) re-enqueues anything due whose message is older than
WEBHOOKS_REENQUEUE_AFTER."""

from __future__ import annotations

from django.db import transaction

from fibe_access.celery import app

ATTEMPT_TASK = "webhooks.tasks.delivery_attempt"
BATCH_TASK = "webhooks.tasks.deliveries_enqueue_batch"
FANOUT_INLINE = 20
FANOUT_CHUNK = 100


def enqueue_on_commit(delivery_ids: list[int]) -> None:
    """Enqueue after the current transaction commits; a broker error there is logged, not
    raised, and the beat scan picks the deliveries up later."""
    ids = list(delivery_ids)

    def enqueue_deliveries():  # a named function: Django logs a robust hook's failure by name
        enqueue(ids)

    transaction.on_commit(enqueue_deliveries, robust=True)


def enqueue(delivery_ids: list[int]) -> None:
    """Put first attempts on the broker now. Large fan-outs send a few batch messages and the
    workers enqueue the rest, so the caller's commit stays fast."""
    if len(delivery_ids) <= FANOUT_INLINE:
        enqueue_each(delivery_ids)
        return
    for start in range(0, len(delivery_ids), FANOUT_CHUNK):
        app.send_task(BATCH_TASK, args=[delivery_ids[start : start + FANOUT_CHUNK]])


def enqueue_later(delivery_id: int, seconds: float) -> None:
    """Try one delivery again in ``seconds`` (its endpoint was busy). Lost, it is re-enqueued
    by the beat scan once WEBHOOKS_REENQUEUE_AFTER has passed."""
    app.send_task(ATTEMPT_TASK, args=[delivery_id], countdown=seconds)


def enqueue_each(delivery_ids: list[int]) -> None:
    for pk in delivery_ids:
        app.send_task(ATTEMPT_TASK, args=[pk])
