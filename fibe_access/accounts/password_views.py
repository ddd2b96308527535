"""The password lifecycle on Django's views: change (after a step-up), reset by e-mail, and
signing out every other session, or one of them. Each is logged; each ends other sessions."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator

from . import presenters, selectors, services, stepup
from .actor import Actor
from .forms import PasswordResetRequestForm
from .pages import Confirm, confirmed_action
from .views import TOO_MANY_REQUESTS, account_requests_allowed


@method_decorator(stepup.step_up_required, name="dispatch")
class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:security")

    def form_valid(self, form):
        user = self.request.user
        services.password_change(
            actor=Actor.from_request(self.request),
            user=user,
            password=form.cleaned_data["new_password1"],
        )
        update_session_auth_hash(self.request, user)  # this session stays; the others end
        messages.success(self.request, "Password changed. Every other session was signed out.")
        return redirect(self.success_url)


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    form_class = PasswordResetRequestForm
    subject_template_name = "accounts/mail/password_reset_subject.txt"
    email_template_name = "accounts/mail/password_reset.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        if not account_requests_allowed(self.request):
            form.add_error(None, TOO_MANY_REQUESTS)
            return render(self.request, self.template_name, {"form": form}, status=429)
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        services.password_reset(
            actor=Actor.from_request(self.request),
            user=self.user,
            password=form.cleaned_data["new_password1"],
        )
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return redirect(self.success_url)


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@confirmed_action
def sign_out_everywhere(request):
    def sign_out():
        services.sessions_end_others(actor=Actor.from_request(request), user=request.user)
        update_session_auth_hash(request, request.user)
        messages.success(request, "Every other session of your account was signed out.")
        return redirect("accounts:security")

    return Confirm(
        act=sign_out,
        title="Sign out everywhere else",
        body="Every other browser, device and session signed in to your account is signed out "
        "at once. This one stays signed in.",
        button="Sign out other sessions",
        cancel_url=reverse("accounts:security"),
    )


@confirmed_action
def session_end(request, session_id: str):
    """End one other session of the account, chosen from the Security page's list."""
    current = request.session.session_key
    rows = presenters.session_rows(selectors.sessions_for(user=request.user), current_key=current)
    row = next((r for r in rows if r["id"] == session_id), None)
    if row is None:
        messages.info(request, "That session has already ended.")
        return redirect("accounts:security")
    name = f"{row['browser']} on {row['os']}"
    if row["current"]:
        messages.info(request, "That is the session you are using: sign out to end it.")
        return redirect("accounts:security")

    def end():
        try:
            services.session_end(
                actor=Actor.from_request(request),
                user=request.user,
                session_id=session_id,
                current_key=current,
            )
        except (LookupError, ValidationError):
            messages.info(request, "That session has already ended.")
        else:
            messages.success(request, f"Signed out {name}: its next page asks to sign in.")
        return redirect("accounts:security")

    where = f" from {row['ip']}" if row["ip"] else ""
    return Confirm(
        act=end,
        title="Sign out this session",
        body=f"{name}{where} is signed out at once: its next page asks to sign in again. "
        "This session stays signed in.",
        button="Sign it out",
        cancel_url=reverse("accounts:security"),
    )
