"""Celery tasks: thin entry points that take ids and call the delivery engine
(``webhooks/engine/``). Nothing imports this module: ``engine.queue`` and beat send these
tasks by name."""

from celery import shared_task
from celery.signals import celeryd_after_setup


@celeryd_after_setup.connect
def _senders_known(sender=None, instance=None, **kwargs) -> None:
    """Before the worker forks its pool: how many processes will send, so a claim takes its
    process's share of an account's slots (``engine.claim.account_share``)."""
    from .engine.claim import senders_set

    prefork = "prefork" in getattr(getattr(instance, "pool_cls", None), "__module__", "")
    senders_set(getattr(instance, "concurrency", 1) if prefork else 1)


# A batch starts no send later than WEBHOOKS_SEND_WINDOW after it began, and each send is cut
# at the attempt budget, so it ends well inside this limit (and WEBHOOKS_STUCK_AFTER); the beat
# scan records an attempt cut by the limit as lost once WEBHOOKS_STUCK_AFTER has passed.
@shared_task(acks_late=True, ignore_result=True, time_limit=90)
def deliveries_send(delivery_ids: list[int]) -> None:
    from .engine.pipeline import deliveries_send as send

    send(delivery_ids=delivery_ids)


@shared_task(ignore_result=True)
def deliveries_enqueue_due() -> int:
    from .engine.scan import deliveries_enqueue_due as enqueue_due

    return enqueue_due()


@shared_task(ignore_result=True)
def deliveries_purge_old() -> int:
    from .engine.upkeep import deliveries_purge_old as purge

    return purge()


@shared_task(ignore_result=True)
def endpoints_disable_failing() -> int:
    from .engine.upkeep import endpoints_disable_failing as disable

    return disable()


# Shims for messages of the single-delivery engine still on the broker when this version is
# deployed: both forward to the one pipeline above. Nothing sends them any more; remove them
# once every worker runs this version and the "webhooks" queue has drained (the beat scan
# re-enqueues anything a dropped message would have carried, after WEBHOOKS_REENQUEUE_AFTER).
@shared_task(acks_late=True, ignore_result=True, time_limit=90)
def delivery_attempt(delivery_id: int) -> None:
    from .engine.pipeline import deliveries_send as send

    send(delivery_ids=[delivery_id])


@shared_task(acks_late=True, ignore_result=True)
def deliveries_enqueue_batch(delivery_ids: list[int]) -> None:
    from .engine.queue import enqueue

    enqueue(delivery_ids)
