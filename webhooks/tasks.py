"""Celery tasks: thin wrappers that take ids and call the delivery engine. Nothing imports
this module: ``webhooks.queue`` and beat send these tasks by name."""

from celery import shared_task


# A receiver dribbling its response is cut by the attempt budget (WEBHOOKS_ATTEMPT_BUDGET);
# the hard limit is a backstop that ends the child, and the beat scan records that attempt as
# lost once WEBHOOKS_STUCK_AFTER (longer than this limit) has passed, so the two never overlap.
@shared_task(acks_late=True, ignore_result=True, time_limit=90)
def delivery_attempt(delivery_id: int) -> None:
    from .delivery import delivery_attempt as attempt

    attempt(delivery_id=delivery_id)


# A batch starts no send later than WEBHOOKS_SEND_WINDOW after it began, and each send is cut
# at the attempt budget, so it ends well inside this limit (and WEBHOOKS_STUCK_AFTER).
@shared_task(acks_late=True, ignore_result=True, time_limit=90)
def deliveries_send(delivery_ids: list[int]) -> None:
    from .batch import deliveries_send as send

    send(delivery_ids=delivery_ids)


@shared_task(acks_late=True, ignore_result=True)
def deliveries_enqueue_batch(delivery_ids: list[int]) -> None:
    from .queue import enqueue_each

    enqueue_each(delivery_ids)


@shared_task(ignore_result=True)
def deliveries_enqueue_due() -> int:
    from .delivery import deliveries_enqueue_due as enqueue_due

    return enqueue_due()


@shared_task(ignore_result=True)
def deliveries_purge_old() -> int:
    from .delivery import deliveries_purge_old as purge

    return purge()


@shared_task(ignore_result=True)
def endpoints_disable_failing() -> int:
    from .delivery import endpoints_disable_failing as disable

    return disable()
