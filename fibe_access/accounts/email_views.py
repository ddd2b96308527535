"""The signed link that verifies an address, and asking for a new one."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from . import services, verification
from .actor import Actor
from .forms import EmailForm
from .views import TOO_MANY_REQUESTS, account_requests_allowed, base_url, link_hours


def verify_email(request, token: str):
    state, user = verification.link_read(token)
    if state is not verification.LinkState.VALID:
        expired = state is verification.LinkState.EXPIRED
        return render(
            request,
            "accounts/verify_email_failed.html",
            {"expired": expired, "form": EmailForm(), **link_hours()},
            status=410 if expired else 400,
        )
    if services.email_verify(actor=Actor.from_request(request), user=user):
        messages.success(request, "Your e-mail address is verified. Welcome to Fibe.")
    else:
        messages.info(request, "This address was already verified.")
    if request.user.is_authenticated and request.user.pk == user.pk:
        return redirect("accounts:security")
    messages.info(request, "Sign in to set up two-factor authentication.")
    return redirect(f"{reverse('accounts:login')}?next={reverse('accounts:totp_enrol')}")


@require_http_methods(["GET", "POST"])
def verify_email_resend(request):
    """The same answer whether or not the address has an account waiting for a link."""
    user = request.user
    initial = {"email": user.email} if user.is_authenticated else None
    form = EmailForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if not account_requests_allowed(request):
            form.add_error(None, TOO_MANY_REQUESTS)
            return render(request, "accounts/verify_email_resend.html", {"form": form}, status=429)
        services.email_verification_resend(
            email=form.cleaned_data["email"], base_url=base_url(request)
        )
        messages.success(
            request,
            "If an account with that address is waiting for verification, a new link is on its "
            "way. It can take a minute to arrive.",
        )
        return redirect("accounts:verify_email_resend")
    return render(request, "accounts/verify_email_resend.html", {"form": form})
