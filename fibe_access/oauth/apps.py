from django.apps import AppConfig


class OAuthConfig(AppConfig):
    name = "fibe_access.oauth"
    label = "oauth"
    verbose_name = "OAuth (connected apps)"

    def ready(self) -> None:
        from keys import selectors

        from .selectors import key_for_access_token_digest

        if key_for_access_token_digest not in selectors.token_resolvers:
            selectors.token_resolvers.append(key_for_access_token_digest)
