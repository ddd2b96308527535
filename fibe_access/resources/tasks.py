from celery import shared_task


@shared_task
def playgrounds_mark_expiring() -> int:
    from fibe_access.accounts.actor import Actor

    from .services import playgrounds_mark_expiring as mark

    return mark(actor=Actor.system())
