import unicodedata

import django.utils.timezone
from django.db import migrations, models


def canonical(value):
    normal = unicodedata.normalize("NFKC", value or "").strip().lower()
    return unicodedata.normalize("NFKC", normal.casefold())


def fill_canonical(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    for user in User.objects.only("pk", "email").iterator():
        User.objects.filter(pk=user.pk).update(email_canonical=canonical(user.email))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="email_canonical",
            field=models.CharField(editable=False, max_length=254, null=True),
        ),
        migrations.RunPython(fill_canonical, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="user",
            name="email_canonical",
            field=models.CharField(editable=False, max_length=254, unique=True),
        ),
        # Accounts that exist before verification was required keep receiving mail.
        migrations.AddField(
            model_name="user",
            name="email_verified_at",
            field=models.DateTimeField(blank=True, default=django.utils.timezone.now, null=True),
        ),
        migrations.AddField(
            model_name="user",
            name="session_epoch",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="user",
            name="security_events_dropped",
            field=models.PositiveBigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="securityevent",
            name="count",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="securityevent",
            name="last_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="securityevent",
            name="kind",
            field=models.CharField(choices=[("signed_up", "Account created"), ("signed_in", "Signed in"), ("sign_in_failed", "Sign-in failed"), ("sign_in_refused", "Sign-in refused: too many failed attempts"), ("signed_out", "Signed out"), ("signed_out_everywhere", "Signed out of every other session"), ("sign_up_repeated", "Someone tried to sign up with this address"), ("email_verified", "E-mail address verified"), ("password_changed", "Password changed"), ("password_reset_requested", "Password reset requested"), ("password_reset", "Password reset by e-mail"), ("notice_sent", "Notice e-mailed"), ("device_added", "Authenticator added"), ("device_removed", "Authenticator removed"), ("backup_codes_generated", "Backup codes generated"), ("step_up_passed", "Re-authentication passed"), ("step_up_failed", "Re-authentication failed"), ("key_created", "API key created"), ("key_rotated", "API key rotated"), ("key_expired", "API key expired"), ("key_revoked", "API key revoked"), ("key_deleted", "API key deleted"), ("key_revealed", "API key revealed"), ("webhook_created", "Webhook created"), ("webhook_updated", "Webhook updated"), ("webhook_deleted", "Webhook deleted"), ("webhook_secret_changed", "Webhook secret changed"), ("webhook_disabled", "Webhook disabled"), ("webhook_enabled", "Webhook re-enabled"), ("account_deleted", "Account deleted")], max_length=40),
        ),
    ]
