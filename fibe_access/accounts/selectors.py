from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import SecurityEvent, User


def security_events_for(*, user: User):
    """Newest first; the page paginates, so nothing is ever out of reach."""
    return SecurityEvent.objects.filter(user=user)


def totp_devices_for(*, user: User):
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id")


def backup_codes_left(*, user: User) -> int:
    device = StaticDevice.objects.filter(user=user, confirmed=True).first()
    return device.token_set.count() if device else 0
