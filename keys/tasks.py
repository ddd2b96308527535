from celery import shared_task


@shared_task
def keys_lifecycle() -> dict:
    """Beat: expiry warnings, api_key.* events, the inactivity policy, lapsed overlaps."""
    from .expiry import keys_lifecycle as run

    return run()
