"""Step-up ("sudo mode"): sensitive pages need an OTP verified in this session within
STEP_UP_WINDOW. The time of the last verification lives in the server-side session and slides
forward on every sensitive action."""

from __future__ import annotations

import time
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import user_has_device

SESSION_KEY = "fibe_step_up_at"


class StepUpRequired(Exception):  # noqa: N818 - reads as the condition it signals
    """Raised by a view or a service when a fresh step-up is needed."""


def is_recent(request) -> bool:
    at = request.session.get(SESSION_KEY)
    if at is None:
        return False
    age = time.time() - float(at)
    return 0 <= age < settings.STEP_UP_WINDOW.total_seconds()


def record(request) -> None:
    request.session[SESSION_KEY] = time.time()


def clear(request) -> None:
    request.session.pop(SESSION_KEY, None)


def remaining_seconds(request) -> int:
    at = request.session.get(SESSION_KEY)
    if at is None:
        return 0
    left = settings.STEP_UP_WINDOW.total_seconds() - (time.time() - float(at))
    return max(0, int(left))


def redirect_for(request):
    """Where to send a user who needs to step up, remembering where they were."""
    nxt = request.get_full_path()
    if not user_has_device(request.user, confirmed=True):
        return redirect(f"{reverse('accounts:totp_enrol')}?{urlencode({'next': nxt})}")
    return redirect(f"{reverse('accounts:verify')}?{urlencode({'next': nxt})}")


def step_up_required(view):
    """Decorate a view that must only run after a recent step-up.

    A POST that arrives after the window has passed is not carried out: the user steps up and
    comes back to the same URL with a GET, where the form (or the confirmation page of an
    action) asks again. Nothing happens without a fresh, deliberate submission.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_recent(request):
            return redirect_for(request)
        record(request)  # sliding window
        return view(request, *args, **kwargs)

    return wrapper
