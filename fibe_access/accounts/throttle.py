"""Sign-in throttling with django-axes (settings: AXES_*): who counts as the same account and
client, and what a refused sign-in sees."""

from django.conf import settings
from django.shortcuts import render

from .actor import client_ip, ip_bucket
from .addresses import canonical_email


def axes_username(request, credentials) -> str:
    """Every spelling of one address (case, full-width letters) is one account to the throttle,
    whether or not the account exists."""
    raw = (credentials or {}).get("username")
    if raw is None and request is not None:
        raw = request.POST.get("username")
    return canonical_email(str(raw or ""))[:254]


def axes_client_ip(request) -> str:
    """The client as the lockout counts it: its address behind a trusted proxy, IPv6 per /64."""
    return ip_bucket(client_ip(request))


def lockout_minutes() -> int:
    return max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))


def locked_out_response(request, original_response=None, credentials=None):
    """429 with the sign-in page and a clear message; the same for known and unknown e-mails."""
    return render(
        request,
        "accounts/locked_out.html",
        {"minutes": lockout_minutes()},
        status=429,
    )
