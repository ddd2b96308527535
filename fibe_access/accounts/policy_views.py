"""Profile → API key policy: the account's inactivity expiry and maximum key lifetime, behind
the step-up like every key page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import services
from .actor import Actor
from .forms import KeyPolicyForm
from .stepup import step_up_required


@login_required
@step_up_required
@require_http_methods(["GET", "POST"])
def key_policy(request):
    user = request.user
    initial = {
        "inactivity_on": bool(user.key_inactivity_days),
        "inactivity_days": user.key_inactivity_days or 90,
        "lifetime_on": bool(user.key_max_lifetime_days),
        "max_lifetime_days": user.key_max_lifetime_days or 90,
    }
    form = KeyPolicyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_key_policy_update(
                actor=Actor.from_request(request),
                user=user,
                inactivity_days=form.cleaned_data["inactivity_days"],
                max_lifetime_days=form.cleaned_data["max_lifetime_days"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "API key policy saved.")
            return redirect("accounts:key_policy")
    return render(request, "accounts/key_policy.html", {"form": form})
