"""Celery tasks of keys: thin wrappers, sent by name from beat."""

from celery import shared_task


@shared_task(ignore_result=True)
def activity_trim() -> int:
    from .activity import activity_trim as trim

    return trim()
