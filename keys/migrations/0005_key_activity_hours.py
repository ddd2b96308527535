"""Hourly counts of key activity (the usage picture reads these, not the raw rows); the rows
already kept are counted into them once."""

from django.db import migrations, models
from django.db.models import Count, Q
from django.db.models.functions import TruncHour


def count_existing(apps, schema_editor):
    KeyActivity = apps.get_model("keys", "KeyActivity")
    KeyActivityHour = apps.get_model("keys", "KeyActivityHour")
    rows = (
        KeyActivity.objects.annotate(slot=TruncHour("at"))
        .values("key_id", "slot")
        .annotate(total=Count("id"), failed=Count("id", filter=Q(status__gte=400)))
        .order_by()
    )
    KeyActivityHour.objects.bulk_create(
        (
            KeyActivityHour(
                key_id=r["key_id"], hour=r["slot"], total=r["total"], failed=r["failed"]
            )
            for r in rows.iterator()
        ),
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("keys", "0004_confirm_destructive_actions"),
    ]

    operations = [
        migrations.CreateModel(
            name="KeyActivityHour",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key_id", models.BigIntegerField()),
                ("hour", models.DateTimeField()),
                ("total", models.PositiveIntegerField(default=0)),
                ("failed", models.PositiveIntegerField(default=0)),
            ],
            options={
                "indexes": [models.Index(fields=["hour"], name="keyactivityhour_hour")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("key_id", "hour"), name="keyactivityhour_key_hour"
                    )
                ],
            },
        ),
        migrations.RunPython(count_existing, migrations.RunPython.noop),
    ]
