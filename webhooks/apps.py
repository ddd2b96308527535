from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from fibe_access.resources.registry import restrictable_register

        from . import (
            api,  # noqa: F401 - declares the webhooks operations
            listen_tasks,  # noqa: F401 - registers the listen beat task
        )
        from .engine import checks  # noqa: F401 - registers the engine's settings check
        from .models import WebhookEndpoint

        restrictable_register("webhooks", WebhookEndpoint, label_field="url")
