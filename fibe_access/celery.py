import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fibe_access.settings")

app = Celery("fibe_access")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _recycle_database_connections(**kwargs) -> None:
    """With CELERY_DB_REUSE_MAX set, Celery no longer closes the connection around each task;
    do what Django does around a request instead (honour CONN_MAX_AGE, drop broken ones)."""
    from django.db import close_old_connections

    close_old_connections()
