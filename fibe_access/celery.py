import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fibe_access.settings")

app = Celery("fibe_access")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
