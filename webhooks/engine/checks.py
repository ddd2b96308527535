"""System checks for the delivery engine's settings (``manage.py check``, run by ``migrate``
and ``runserver``)."""

from django.conf import settings
from django.core.checks import Warning, register


@register()
def stuck_after_outlasts_a_batch(app_configs=None, **kwargs):
    """A claimed delivery stays in flight while it waits in its batch: if the beat scan may call
    it lost before the batch could have sent it, the scan records a lost attempt for a delivery
    that is still going to be sent (a duplicate, or a test send never sent)."""
    longest = (
        settings.WEBHOOKS_SEND_WINDOW
        + settings.WEBHOOKS_ATTEMPT_BUDGET
        + settings.WEBHOOKS_CONNECT_TIMEOUT
    )
    stuck_after = settings.WEBHOOKS_STUCK_AFTER.total_seconds()
    if stuck_after > longest:
        return []
    return [
        Warning(
            f"WEBHOOKS_STUCK_AFTER ({stuck_after:g} s) must be longer than a batch can hold a "
            f"claimed delivery: WEBHOOKS_SEND_WINDOW + WEBHOOKS_ATTEMPT_BUDGET + "
            f"WEBHOOKS_CONNECT_TIMEOUT = {longest:g} s.",
            hint="Raise WEBHOOKS_STUCK_AFTER or lower the send window or the attempt budget.",
            id="webhooks.W001",
        )
    ]
