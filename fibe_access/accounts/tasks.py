from celery import shared_task


@shared_task
def security_log_trim() -> int:
    from .securitylog import security_log_trim as trim

    return trim()
