from celery import shared_task


@shared_task
def clients_prune() -> int:
    from .services import clients_prune

    return clients_prune()
