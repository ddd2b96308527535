"""The beat's listen-session upkeep (CELERY_BEAT_SCHEDULE "webhooks-listen-expire"): end the
sessions whose lease lapsed (not polled for WEBHOOKS_LISTEN_TTL seconds: deleted with their
queued events, the lapse in the owner's security log) and purge the listen delivery log past
WEBHOOKS_LOG_RETENTION. Imported by the AppConfig so the worker knows the task."""

from celery import shared_task


@shared_task(name="webhooks.listen_tasks.sessions_expire", ignore_result=True)
def sessions_expire() -> dict:
    from .listen import sessions_expire as expire
    from .listen_log import deliveries_purge_old as purge

    return {"ended": expire(), "purged": purge()}
