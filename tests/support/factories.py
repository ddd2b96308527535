import factory
from django.utils import timezone

from fibe_access.accounts.models import User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    # Made by an operator, as the shell would: trusted as verified.
    email_verified_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple 42")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


# --- resources and API keys (issue 3) ---------------------------------------------------------

RESOURCE_DEFAULTS = {"Secret": {"value": "s3cret-value"}, "JobEnv": {"key": "FOO", "value": "bar"}}


def resource_make(model, owner, **fields):
    """A saved record of any resource family owned by ``owner``."""
    values = {
        "name": f"{model.__name__.lower()} {model.objects.count() + 1}",
        **RESOURCE_DEFAULTS.get(model.__name__, {}),
        **fields,
    }
    return model.objects.create(owner=owner, **values)


def api_key_make(owner, *scope_names, **kwargs):
    """A key for ``owner`` made through the real service (CLI actor); returns (key, token)."""
    from fibe_access.accounts.actor import Actor, Source
    from keys.services import key_create

    kwargs.setdefault("label", "test key")
    return key_create(
        actor=Actor(user=None, source=Source.CLI),
        owner=owner,
        scope_names=list(scope_names),
        **kwargs,
    )
