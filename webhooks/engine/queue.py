"""The delivery queue: puts deliveries on the broker after the caller's transaction commits.

Tasks are sent by name, so publishing, services and the engine never import the task module
(which imports them). A lost message only delays a delivery: the beat scan
(``scan.deliveries_enqueue_due``) re-enqueues anything due whose message is older than
WEBHOOKS_REENQUEUE_AFTER."""

from __future__ import annotations

from django.db import transaction

from fibe_access.celery import app

SEND_TASK = "webhooks.tasks.deliveries_send"
FANOUT_INLINE = 20  # publish inserts larger fan-outs with one INSERT … SELECT
SEND_CHUNK = 500  # deliveries per message (a batch); a task claims up to WEBHOOKS_SEND_BATCH


def enqueue_on_commit(delivery_ids: list[int]) -> None:
    """Enqueue after the current transaction commits; a broker error there is logged, not
    raised, and the beat scan picks the deliveries up later."""
    ids = list(delivery_ids)

    def enqueue_deliveries():  # a named function: Django logs a robust hook's failure by name
        enqueue(ids)

    transaction.on_commit(enqueue_deliveries, robust=True)


def enqueue(delivery_ids: list[int]) -> None:
    """Put deliveries on the broker now: one message per SEND_CHUNK of them."""
    for start in range(0, len(delivery_ids), SEND_CHUNK):
        app.send_task(SEND_TASK, args=[delivery_ids[start : start + SEND_CHUNK]])


def enqueue_later(delivery_ids: list[int], seconds: float) -> None:
    """Try deliveries again in ``seconds`` (their endpoint was busy). Lost, they are
    re-enqueued by the beat scan once WEBHOOKS_REENQUEUE_AFTER has passed."""
    for start in range(0, len(delivery_ids), SEND_CHUNK):
        app.send_task(SEND_TASK, args=[delivery_ids[start : start + SEND_CHUNK]], countdown=seconds)
