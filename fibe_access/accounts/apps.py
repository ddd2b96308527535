from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "fibe_access.accounts"
    label = "accounts"
    verbose_name = "Accounts"
