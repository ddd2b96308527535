"""Celery tasks of keys: thin wrappers, sent by name from beat."""

from celery import shared_task


@shared_task(ignore_result=True)
def activity_trim() -> int:
    from .activity import activity_trim as trim

    return trim()


@shared_task
def keys_lifecycle() -> dict:
    """Beat: expiry warnings, api_key.* events, the inactivity policy, lapsed overlaps."""
    from .expiry import keys_lifecycle as run

    return run()
