from django.apps import AppConfig


class ResourcesConfig(AppConfig):
    name = "fibe_access.resources"
    label = "resources"
    verbose_name = "Fibe resources"

    def ready(self) -> None:
        from . import api, repos_api  # noqa: F401 - declare the families' operations
