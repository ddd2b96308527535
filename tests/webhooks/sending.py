"""The production path, driven from a test: what the Celery task ``deliveries_send`` runs
(claim → send → record), in this process."""

from webhooks.engine.pipeline import deliveries_send
from webhooks.models import Attempt


def deliver(delivery) -> Attempt | None:
    """Run the send task's body for ``delivery`` (a row or an id; whatever else is due goes in
    the same batch, as in production) and return the attempt it recorded for ``delivery``, or
    None when it recorded none."""
    pk = getattr(delivery, "pk", delivery)
    before = set(Attempt.objects.filter(delivery_id=pk).values_list("pk", flat=True))
    deliveries_send(delivery_ids=[pk])
    return Attempt.objects.filter(delivery_id=pk).exclude(pk__in=before).first()
