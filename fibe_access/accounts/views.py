from base64 import b32encode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import devices_for_user, user_has_device
from django_otp import login as otp_login

from fibe_access import keyset

from . import presenters, ratelimit, selectors, services, shown_once, stepup
from .actor import Actor, client_ip, ip_bucket, safe_next
from .addresses import canonical_email
from .forms import ConfirmDeleteForm, EmailForm, LoginForm, OTPTokenForm, SignupForm
from .models import User
from .pages import Confirm, confirmed_action

BACKUP_CODES = "backup_codes"
SECURITY_LOG_PAGE = 25  # issue 27: a page costs what a short log costs


def base_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def account_requests_allowed(request) -> bool:
    """Sign-ups, verification resends and reset requests from one client address, per hour."""
    return ratelimit.hit(
        f"account-requests:{ip_bucket(client_ip(request))}",
        limit=settings.ACCOUNT_REQUESTS_PER_IP_HOUR,
        window=3600,
    )


TOO_MANY_REQUESTS = "Too many requests from your network. Try again in an hour."


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("accounts:security")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not account_requests_allowed(request):
            form.add_error(None, TOO_MANY_REQUESTS)
            return render(request, "accounts/signup.html", {"form": form}, status=429)
        services.user_signup(
            actor=Actor.from_request(request),
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            base_url=base_url(request),
        )
        return redirect("accounts:signup_done")
    return render(request, "accounts/signup.html", {"form": form})


def signup_done(request):
    """The same page whether the address was new or already registered."""
    return render(request, "accounts/signup_done.html", {"form": EmailForm(), **link_hours()})


def link_hours() -> dict:
    return {"hours": int(settings.EMAIL_VERIFICATION_MAX_AGE.total_seconds() // 3600)}


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        services.security_log(
            actor=Actor.from_request(self.request),
            user=form.get_user(),
            kind=services.Kind.SIGNED_IN,
        )
        return response

    def form_invalid(self, form):
        # The owner sees failed and refused sign-ins on their security log, aggregated per
        # address and hour; unknown e-mails leave no row.
        email = form.cleaned_data.get("username")
        user = (
            User.objects.filter(email_canonical=canonical_email(email)).first() if email else None
        )
        if user is not None:
            request = self.request
            refused = getattr(request, "axes_locked_out", False) and (
                getattr(request, "axes_failures_since_start", None) is None
            )
            services.security_log_sign_in_failure(
                actor=Actor.from_request(request), user=user, refused=refused
            )
        return super().form_invalid(form)


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default); the step-up ends with the session."""

    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            services.security_log(
                actor=Actor.from_request(request),
                user=request.user,
                kind=services.Kind.SIGNED_OUT,
            )
        return super().post(request, *args, **kwargs)


@login_required
def security(request):
    user = request.user
    page = keyset.page(
        selectors.security_events_for(user=user),
        size=SECURITY_LOG_PAGE,
        before=request.GET.get("before"),
        after=request.GET.get("after"),
    )
    return render(
        request,
        "accounts/security.html",
        {
            "devices": selectors.totp_devices_for(user=user),
            "sessions": presenters.session_rows(
                selectors.sessions_for(user=user), current_key=request.session.session_key
            ),
            "backup_codes_left": selectors.backup_codes_left(user=user),
            "page": page,
            "events": presenters.security_log_rows(page.items),
            "dropped": user.security_events_dropped,
            "retention_days": settings.SECURITY_LOG_RETENTION.days,
            "max_rows": settings.SECURITY_LOG_MAX_ROWS,
            "step_up_recent": stepup.is_recent(request),
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def totp_enrol(request):
    """Add an authenticator: QR code and the secret as text, confirmed by a code from it."""
    user = request.user
    if user_has_device(user, confirmed=True) and not stepup.is_recent(request):
        # Adding a second authenticator is a sensitive change too.
        return stepup.redirect_for(request)
    device = services.totp_device_pending(user=user)
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.totp_device_confirm(
                actor=Actor.from_request(request), user=user, token=form.cleaned_data["otp_token"]
            )
        except ValueError as exc:
            form.add_error("otp_token", str(exc))
        else:
            device.refresh_from_db()
            otp_login(request, device)
            stepup.record(request)
            messages.success(request, "Two-factor authentication is on.")
            nxt = safe_next(request, reverse("accounts:security"))
            if codes:
                response = redirect(f"{reverse('accounts:backup_codes')}?next={nxt}")
                return shown_once.stash(request, response, BACKUP_CODES, {"codes": codes})
            return redirect(nxt)
    uri = device.config_url
    qr_svg = segno.make(uri, error="m").svg_inline(
        scale=5,
        omitsize=True,
        dark="#111827",
        light="#ffffff",
        title="QR code for your authenticator app",
    )
    secret = _base32_secret(device)
    return render(
        request,
        "accounts/totp_enrol.html",
        {
            "form": form,
            "qr_svg": qr_svg,
            "secret": secret,
            "secret_grouped": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "next": request.GET.get("next", ""),
        },
    )


def _base32_secret(device) -> str:
    return b32encode(device.bin_key).decode().rstrip("=")


@never_cache
@login_required
def backup_codes(request):
    """Shows freshly generated backup codes once; a reload shows nothing."""
    shown = shown_once.take(request, BACKUP_CODES)
    if shown is None:
        messages.info(
            request, "Backup codes are only shown once. Generate new ones if you have lost them."
        )
        response = redirect("accounts:security")
    else:
        response = render(
            request,
            "accounts/backup_codes.html",
            {
                "codes": shown["codes"],
                "next": safe_next(request, reverse("accounts:security")),
            },
        )
    return shown_once.forget(response, BACKUP_CODES)


@confirmed_action
def backup_codes_regenerate(request):
    def generate():
        codes = services.backup_codes_generate(actor=Actor.from_request(request), user=request.user)
        response = redirect("accounts:backup_codes")
        return shown_once.stash(request, response, BACKUP_CODES, {"codes": codes})

    return Confirm(
        title="Generate new backup codes",
        body="Your current backup codes will stop working.",
        button="Generate new codes",
        cancel_url=reverse("accounts:security"),
        act=generate,
    )


@confirmed_action
def device_remove(request, device_id: int):
    device = selectors.totp_devices_for(user=request.user).filter(pk=device_id).first()
    if device is None:
        raise Http404

    def remove():
        services.device_remove(
            actor=Actor.from_request(request), user=request.user, device_id=device.pk
        )
        messages.success(request, f"Removed “{device.name}”.")
        return redirect("accounts:security")

    return Confirm(
        title=f"Remove “{device.name}”",
        body="You will need another authenticator to manage API keys and webhooks.",
        button="Remove authenticator",
        danger=True,
        cancel_url=reverse("accounts:security"),
        act=remove,
    )


@login_required
@require_http_methods(["GET", "POST"])
def verify(request):
    """The step-up page: a TOTP or backup code, then back to where the user was going."""
    user = request.user
    nxt = safe_next(request, reverse("accounts:security"))
    if not user_has_device(user, confirmed=True):
        return redirect(f"{reverse('accounts:totp_enrol')}?next={nxt}")
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = services.step_up_verify(
            actor=Actor.from_request(request), user=user, token=form.cleaned_data["otp_token"]
        )
        if device is not None:
            otp_login(request, device)
            stepup.record(request)
            return redirect(nxt)
        form.add_error("otp_token", _failure_message(user))
    return render(
        request,
        "accounts/verify.html",
        {
            "form": form,
            "next": nxt,
            "window_minutes": int(settings.STEP_UP_WINDOW.total_seconds() // 60),
        },
    )


def _failure_message(user) -> str:
    waits = []
    for device in devices_for_user(user, confirmed=True):
        allowed, info = device.verify_is_allowed()
        if not allowed and info and info.get("locked_until"):
            waits.append((info["locked_until"] - timezone.now()).total_seconds())
    if waits:
        seconds = max(1, int(min(waits) + 0.999))
        return (
            f"That code is not valid. Too many wrong codes: try again in {seconds} "
            f"second{'s' if seconds != 1 else ''} (the wait doubles with each mistake)."
        )
    return "That code is not valid, or was already used."


@login_required
@stepup.step_up_required
@require_http_methods(["GET", "POST"])
def account_delete(request):
    form = ConfirmDeleteForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.account_delete(actor=Actor.from_request(request), user=request.user)
        request.session.flush()
        messages.success(request, "Your account and everything it owned have been deleted.")
        return redirect("accounts:login")
    return render(request, "accounts/delete.html", {"form": form})
