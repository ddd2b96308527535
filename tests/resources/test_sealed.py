"""Secret values are sealed at rest (fibe_access.sealed): the column holds only ciphertext,
whatever writes it; reveal() is the way back; a ciphertext opens only for its own record; the
migration seals the rows written before, and is a no-op on an empty table."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from fibe_access import keyring, sealed
from fibe_access.accounts.actor import Actor, Source
from fibe_access.resources import services
from fibe_access.resources.models import ResourceChange, Secret
from tests.support.factories import UserFactory, api_key_make, resource_make

from .plaintext import assert_nowhere_in_the_database, database_text

API = Actor(user=None, source=Source.API)
VALUE = "postgres://app:hunter2-in-the-vault@db/prod"


def _column(secret: Secret) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM resources_secret WHERE id = %s", [secret.pk])
        return cursor.fetchone()[0]


def test_a_secret_value_is_sealed_in_the_database_and_revealed_through_its_accessor(user):
    secret = services.resource_create(actor=API, model=Secret, owner=user, name="db", value=VALUE)
    stored = _column(secret)
    assert stored.startswith(f"v2:{keyring.current_key_id()}:")
    assert VALUE not in stored
    assert Secret.objects.get(pk=secret.pk).revealed_value() == VALUE
    assert_nowhere_in_the_database(VALUE)


def test_through_the_api_the_value_is_stored_sealed_and_never_returned(client, user):
    _, token = api_key_make(user, "secrets:manage")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    made = client.post(
        "/api/v1/secrets",
        {"name": "db", "value": VALUE},
        content_type="application/json",
        **headers,
    )
    assert made.status_code == 201 and "value" not in made.json()
    secret = Secret.objects.get(pk=made.json()["id"])
    assert secret.revealed_value() == VALUE
    changed = client.patch(
        f"/api/v1/secrets/{secret.pk}",
        {"value": "the-next-one"},
        content_type="application/json",
        **headers,
    )
    assert changed.status_code == 200 and "the-next-one" not in changed.content.decode()
    assert Secret.objects.get(pk=secret.pk).revealed_value() == "the-next-one"
    assert_nowhere_in_the_database(VALUE, "the-next-one")


def test_any_save_seals_and_a_plain_write_around_the_model_is_refused(user):
    # a factory, the shell or the admin save through the model: sealed all the same
    secret = resource_make(Secret, user, value="made-in-the-shell")
    assert "made-in-the-shell" not in _column(secret)
    assert secret.revealed_value() == "made-in-the-shell"
    with pytest.raises(ValueError, match="is sealed"), transaction.atomic():
        Secret.objects.filter(pk=secret.pk).update(value="plain-through-update")
    assert "plain-through-update" not in database_text()


def test_the_same_value_again_changes_nothing_and_a_new_one_is_audited(user):
    secret = services.resource_create(actor=API, model=Secret, owner=user, name="db", value=VALUE)
    before = _column(secret)
    services.resource_update(actor=API, obj=secret, value=VALUE)
    assert _column(secret) == before
    services.resource_update(actor=API, obj=secret, value="rotated")
    assert _column(secret) != before
    assert list(ResourceChange.objects.order_by("id").values_list("action", "fields")) == [
        ("create", ["name", "value"]),
        ("update", ["value"]),
    ]


def test_a_nul_byte_is_refused_before_anything_is_sealed(user):
    with pytest.raises(ValidationError):
        services.resource_create(actor=API, model=Secret, owner=user, name="x", value="a\x00b")
    assert not Secret.objects.exists()


def test_a_ciphertext_opens_only_for_its_own_owner(user):
    # given one owner's sealed value copied into another owner's record by hand
    other = UserFactory()
    mine = resource_make(Secret, user, value=VALUE)
    theirs = resource_make(Secret, other, value="theirs")
    Secret.objects.filter(pk=theirs.pk).update(value=sealed.Ciphertext(_column(mine)))
    # then it does not open there
    with pytest.raises(keyring.UndecryptableError):
        Secret.objects.get(pk=theirs.pk).revealed_value()


def test_every_declared_sealed_field_exists():
    from django.apps import apps

    for row in sealed.SEALED:
        model = apps.get_model(row.model)
        fields = {f.name for f in model._meta.concrete_fields} | {
            f.attname for f in model._meta.concrete_fields
        }
        assert row.field in fields
        assert set(row.context_fields) <= fields, row


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return MigrationExecutor(connection).loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_seals_existing_plain_values_and_runs_on_an_empty_table():
    before = ("resources", "0004_repositories")
    after = ("resources", "0005_seal_secret_values")
    try:
        # an empty table: both ways are no-ops
        _migrate(before)
        _migrate(after)
        # given plain values written before the migration
        old_apps = _migrate(before)
        owner = UserFactory()
        OldSecret = old_apps.get_model("resources", "Secret")
        OldSecret.objects.create(owner_id=owner.pk, name="old", value="plain-before-migration")
        OldSecret.objects.create(owner_id=owner.pk, name="older", value="another-old-one")
        assert "plain-before-migration" in database_text()
        # when it runs
        _migrate(after)
        # then no plain text is left and each value reveals as it was
        assert_nowhere_in_the_database("plain-before-migration", "another-old-one")
        assert sorted(s.revealed_value() for s in Secret.objects.all()) == [
            "another-old-one",
            "plain-before-migration",
        ]
        # and back: the values are plain again
        old_apps = _migrate(before)
        values = old_apps.get_model("resources", "Secret").objects.values_list("value", flat=True)
        assert sorted(values) == ["another-old-one", "plain-before-migration"]
    finally:
        _migrate(after)
        Secret.objects.all().delete()


def test_a_lone_surrogate_is_refused_as_bad_input_not_a_500(client, user):
    _, token = api_key_make(user, "secrets:manage")
    response = client.post(
        "/api/v1/secrets",
        '{"name": "x", "value": "a\\ud800b"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "value"
    assert not Secret.objects.exists()
