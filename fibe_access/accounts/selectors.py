from django.contrib.auth import HASH_SESSION_KEY
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from qsessions.models import Session

from .models import SecurityEvent, User


def security_events_for(*, user: User):
    """Newest first; the page paginates, so nothing is ever out of reach."""
    return SecurityEvent.objects.filter(user=user)


def totp_devices_for(*, user: User):
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id")


def backup_codes_left(*, user: User) -> int:
    device = StaticDevice.objects.filter(user=user, confirmed=True).first()
    return device.token_set.count() if device else 0


def sessions_for(*, user: User) -> list[Session]:
    """The account's signed-in sessions, most recently active first: its unexpired rows (by the
    indexed user column) still carrying the account's session hash, so the sessions a new
    password or "sign out everywhere else" ended are not listed even before their rows go."""
    valid = user.get_session_auth_hash()
    rows = Session.objects.filter(user=user, expire_date__gt=timezone.now()).order_by("-updated_at")
    return [
        row
        for row in rows
        if constant_time_compare(row.get_decoded().get(HASH_SESSION_KEY, ""), valid)
    ]
