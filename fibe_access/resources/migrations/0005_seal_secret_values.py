"""Secret values are sealed at rest: every existing value (plain text until now) is encrypted
with the keyring under the current key, bound to its owner as fibe_access.sealed declares; then
the column becomes a SealedTextField, which seals whatever is saved. Nothing to do on an empty
table. Reversible: going back decrypts them."""

from django.db import migrations

import fibe_access.sealed

# As fibe_access.sealed.SEALED declared it when this migration was written.
CONTEXT = "resources.Secret.value:{owner_id}"


def seal_existing(apps, schema_editor):
    from fibe_access import keyring

    Secret = apps.get_model("resources", "Secret")
    for pk, owner_id, value in Secret.objects.exclude(value="").values_list("pk", "owner_id", "value"):
        sealed = keyring.encrypt(value, context=CONTEXT.format(owner_id=owner_id))
        Secret.objects.filter(pk=pk).update(value=sealed)


def open_existing(apps, schema_editor):
    from fibe_access import keyring

    Secret = apps.get_model("resources", "Secret")
    for pk, owner_id, value in Secret.objects.exclude(value="").values_list("pk", "owner_id", "value"):
        plain = keyring.decrypt(value, context=CONTEXT.format(owner_id=owner_id))
        Secret.objects.filter(pk=pk).update(value=plain)


class Migration(migrations.Migration):
    dependencies = [
        ("resources", "0004_repositories"),
    ]

    operations = [
        migrations.RunPython(seal_existing, open_existing),
        migrations.AlterField(
            model_name="secret",
            name="value",
            field=fibe_access.sealed.SealedTextField(max_length=10000),
        ),
    ]
