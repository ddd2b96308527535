"""A listen session's signing secret is sealed at rest like an endpoint's: every live session's
secret (plain text until now) is encrypted with the keyring, bound to its account as
fibe_access.sealed declares; then the column becomes a SealedTextField. Reversible."""

from django.db import migrations, models

import fibe_access.sealed

# As fibe_access.sealed.SEALED declared it when this migration was written.
CONTEXT = "webhooks.ListenSession.secret:{owner_id}"


def _each(apps):
    ListenSession = apps.get_model("webhooks", "ListenSession")
    rows = ListenSession.objects.exclude(secret="").values_list("pk", "owner_id", "secret")
    return ListenSession, rows


def seal_existing(apps, schema_editor):
    from fibe_access import keyring

    ListenSession, rows = _each(apps)
    for pk, owner_id, secret in rows:
        sealed = keyring.encrypt(secret, context=CONTEXT.format(owner_id=owner_id))
        ListenSession.objects.filter(pk=pk).update(secret=sealed)


def open_existing(apps, schema_editor):
    from fibe_access import keyring

    ListenSession, rows = _each(apps)
    for pk, owner_id, secret in rows:
        plain = keyring.decrypt(secret, context=CONTEXT.format(owner_id=owner_id))
        ListenSession.objects.filter(pk=pk).update(secret=plain)


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0006_listen_deliveries"),
    ]

    operations = [
        # a plain text column first (a sealed value is longer than 255), sealed by hand, and
        # only then a SealedTextField (which refuses a plain string written around the model)
        migrations.AlterField(model_name="listensession", name="secret", field=models.TextField()),
        migrations.RunPython(seal_existing, open_existing),
        migrations.AlterField(
            model_name="listensession",
            name="secret",
            field=fibe_access.sealed.SealedTextField(),
        ),
    ]
