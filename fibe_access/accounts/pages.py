"""Page helpers every app's views share."""

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
