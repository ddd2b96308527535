"""Page helpers every app's views share."""

from functools import wraps

from django.shortcuts import render


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
