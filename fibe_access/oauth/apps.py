from django.apps import AppConfig


class OAuthConfig(AppConfig):
    name = "fibe_access.oauth"
    label = "oauth"
    verbose_name = "OAuth (connected apps)"

    def ready(self) -> None:
        from keys import selectors

        from .selectors import ACCESS_TOKENS

        if ACCESS_TOKENS not in selectors.token_resolvers:
            selectors.token_resolvers.append(ACCESS_TOKENS)
