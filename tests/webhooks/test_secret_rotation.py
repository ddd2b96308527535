"""Webhook secret rotation with an overlap, and signing secrets sealed at rest."""

import base64
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from fibe_access import keyring
from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent
from tests.support.factories import UserFactory
from tests.support.fixtures import SECRET
from tests.webhooks.sending import deliver as send_through_engine
from webhooks import presenters, sealed_secrets, services
from webhooks.models import Delivery, WebhookEndpoint
from webhooks.publish import publish_event

CLI = Actor(user=None, source=Source.CLI)
DATA = {"id": 9, "name": "My Playground", "status": "running"}


def snippet_verifier():
    scope: dict = {}
    exec(presenters.SIGNATURE_SNIPPET, scope)  # noqa: S102 - the snippet we publish
    return scope["is_from_fibe"]


def verifies(secret: str, got) -> bool:
    """A receiver holding only ``secret`` accepts the request by both schemes (or neither)."""
    by_snippet = snippet_verifier()(secret, got.body, got.headers["X-Playground-Signature"])
    try:
        Webhook(base64.b64encode(secret.encode()).decode()).verify(got.body, got.headers)
        by_library = True
    except WebhookVerificationError:
        by_library = False
    assert by_snippet == by_library, (by_snippet, by_library)
    return by_snippet


def deliver(user, receiver):
    publish_event(owner=user, event="playground.created", data=DATA)
    delivery = Delivery.objects.latest("pk")
    send_through_engine(delivery.pk)
    return receiver.received[-1]


def test_both_secrets_verify_every_delivery_during_the_overlap_then_only_the_new(
    user, make_endpoint, receiver
):
    endpoint = make_endpoint(receiver.url)
    endpoint, new = services.endpoint_rotate_secret(actor=CLI, endpoint=endpoint)
    assert new.startswith("whsec_") and new != SECRET
    # during the 24-hour overlap every delivery verifies with either secret
    for _ in range(3):
        got = deliver(user, receiver)
        assert verifies(SECRET, got) and verifies(new, got)
        assert len(got.headers["webhook-signature"].split()) == 2
    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59), tick=False):
        got = deliver(user, receiver)
        assert verifies(SECRET, got) and verifies(new, got)
    # after it, only the new one
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1), tick=False):
        got = deliver(user, receiver)
        assert verifies(new, got) and not verifies(SECRET, got)
        assert len(got.headers["webhook-signature"].split()) == 1


def test_end_now_stops_the_old_secret_at_once(user, make_endpoint, receiver):
    endpoint = make_endpoint(receiver.url)
    endpoint, new = services.endpoint_rotate_secret(actor=CLI, endpoint=endpoint, overlap="7d")
    services.endpoint_end_secret_overlap(actor=CLI, endpoint=endpoint)
    got = deliver(user, receiver)
    assert verifies(new, got) and not verifies(SECRET, got)
    rows = SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.WEBHOOK_SECRET_CHANGED)
    assert rows.count() == 2


def test_rotating_with_no_overlap_or_a_chosen_secret(user, make_endpoint, receiver):
    endpoint = make_endpoint(receiver.url)
    endpoint, new = services.endpoint_rotate_secret(
        actor=CLI, endpoint=endpoint, overlap="now", new_secret="my-own-new-secret"
    )
    assert new == "my-own-new-secret"
    got = deliver(user, receiver)
    assert verifies(new, got) and not verifies(SECRET, got)


@pytest.mark.parametrize(
    ("overlap", "secret"), [("forever", ""), ("24h", "x" * 256), ("24h", "a\x00b"), ("24h", SECRET)]
)
def test_bad_rotations_are_refused_and_change_nothing(user, make_endpoint, overlap, secret):
    endpoint = make_endpoint("https://example.com/hook")
    before = WebhookEndpoint.objects.get(pk=endpoint.pk).secret_encrypted
    with pytest.raises(ValidationError):
        services.endpoint_rotate_secret(
            actor=CLI, endpoint=endpoint, overlap=overlap, new_secret=secret
        )
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret_encrypted == before


def test_another_account_cannot_rotate(user, other_user, make_endpoint):
    from django.core.exceptions import PermissionDenied

    endpoint = make_endpoint("https://example.com/hook")
    intruder = Actor(user=other_user, source=Source.API)
    with pytest.raises(PermissionDenied):
        services.endpoint_rotate_secret(actor=intruder, endpoint=endpoint)


def test_signing_secrets_are_sealed_at_rest(user, make_endpoint):
    endpoint = make_endpoint("https://example.com/hook")
    services.endpoint_rotate_secret(actor=CLI, endpoint=endpoint, new_secret="brand-new-secret")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret_encrypted, previous_secret_encrypted FROM webhooks_webhookendpoint"
            " WHERE id = %s",
            [endpoint.pk],
        )
        current, previous = cursor.fetchone()
    assert "brand-new-secret" not in current and SECRET not in previous
    assert current.startswith("v2:") and previous.startswith("v2:")
    assert keyring.decrypt(current, context=sealed_secrets.CURRENT) == "brand-new-secret"
    assert keyring.decrypt(previous, context=sealed_secrets.PREVIOUS) == SECRET
    with pytest.raises(keyring.UndecryptableError):  # bound to its field
        keyring.decrypt(current, context=sealed_secrets.PREVIOUS)


def test_the_migration_seals_existing_plain_secrets(transactional_db):
    from django.core.management import call_command
    from django.db.migrations.executor import MigrationExecutor

    before = [("webhooks", "0002_event_subjects")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    owner = UserFactory()
    OldEndpoint = old_apps.get_model("webhooks", "WebhookEndpoint")
    pk = OldEndpoint.objects.create(owner_id=owner.pk, url="https://e.com", secret="plain-one").pk
    call_command("migrate", verbosity=0)
    endpoint = WebhookEndpoint.objects.get(pk=pk)
    assert endpoint.secret == "plain-one"
    assert "plain-one" not in endpoint.secret_encrypted
