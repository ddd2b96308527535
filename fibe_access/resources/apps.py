from django.apps import AppConfig


class ResourcesConfig(AppConfig):
    name = "fibe_access.resources"
    label = "resources"
    verbose_name = "Fibe resources"
