"""Page helpers every app's views share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .stepup import step_up_required


def confirm_page(
    request,
    *,
    title: str,
    body: str,
    button: str,
    danger: bool = False,
    cancel_url: str | None = None,
):
    """The GET half of every confirmed action: what will happen, and one button that POSTs
    back to the same URL (so a step-up interruption lands here, never on a silent replay)."""
    return render(
        request,
        "accounts/confirm.html",
        {
            "title": title,
            "body": body,
            "button": button,
            "danger": danger,
            "cancel_url": cancel_url,
        },
    )


@dataclass(frozen=True)
class Confirm:
    """What a confirmed action says before it runs, and what its button's POST does."""

    title: str
    body: str
    button: str
    cancel_url: str
    act: Callable[[], HttpResponse]
    danger: bool = False

    def page(self, request) -> HttpResponse:
        return confirm_page(
            request,
            title=self.title,
            body=self.body,
            button=self.button,
            danger=self.danger,
            cancel_url=self.cancel_url,
        )


def confirmed_action(view):
    """The one shape of every "confirm on GET, act on POST" page: signed in, a fresh step-up,
    GET or POST only, never cached. ``view`` answers a ``Confirm`` (or any response, to leave
    early, e.g. a redirect when there is nothing left to confirm); a GET shows the confirm
    page, the button's POST runs ``Confirm.act`` and answers what it answers."""

    @wraps(view)
    def dispatch(request, *args, **kwargs):
        answer = view(request, *args, **kwargs)
        if not isinstance(answer, Confirm):
            return answer
        return answer.act() if request.method == "POST" else answer.page(request)

    dispatch.confirmed_action = True  # marks it for the test that walks every such page
    return login_required(
        step_up_required(never_cache(require_http_methods(["GET", "POST"])(dispatch)))
    )


def verified_email_required(view):
    """Keys and webhooks are for accounts whose address is verified: others get a page that
    says so and offers a new link (403), before any step-up."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and not user.email_verified:
            return render(request, "accounts/verify_email_needed.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper
