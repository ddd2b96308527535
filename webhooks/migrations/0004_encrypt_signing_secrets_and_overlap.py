"""Webhook signing secrets move from a plain column to one sealed with the project keyring
(and gain a previous secret for rotations with an overlap)."""

from django.db import migrations, models

CURRENT = "webhooks.WebhookEndpoint.secret"  # webhooks.sealed_secrets.CURRENT, frozen here


def seal_existing(apps, schema_editor):
    from fibe_access import keyring

    Endpoint = apps.get_model("webhooks", "WebhookEndpoint")
    for endpoint in Endpoint.objects.exclude(secret="").only("pk", "secret").iterator():
        Endpoint.objects.filter(pk=endpoint.pk).update(
            secret_encrypted=keyring.encrypt(endpoint.secret, context=CURRENT)
        )


def unseal_existing(apps, schema_editor):
    from fibe_access import keyring

    Endpoint = apps.get_model("webhooks", "WebhookEndpoint")
    for endpoint in Endpoint.objects.exclude(secret_encrypted="").iterator():
        Endpoint.objects.filter(pk=endpoint.pk).update(
            secret=keyring.decrypt(endpoint.secret_encrypted, context=CURRENT)[:255]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0003_event_credential_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookendpoint",
            name="secret_encrypted",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.AddField(
            model_name="webhookendpoint",
            name="previous_secret_encrypted",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.AddField(
            model_name="webhookendpoint",
            name="previous_secret_expires_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(seal_existing, unseal_existing),
        migrations.RemoveField(
            model_name="webhookendpoint",
            name="secret",
        ),
    ]
