"""Profile → Webhooks → an endpoint's signing secret: rotate it with an overlap, end the
overlap now. Behind the step-up like every webhook page; each view calls one service."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from fibe_access.accounts import shown_once
from fibe_access.accounts.actor import Actor
from fibe_access.accounts.pages import Confirm, confirmed_action
from fibe_access.accounts.stepup import step_up_required

from . import selectors, services
from .forms import SecretRotateForm
from .views import NEW_SECRET


def _owned_endpoint(request, endpoint_id: int):
    endpoint = selectors.endpoint_get(owner=request.user, endpoint_id=endpoint_id)
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


@login_required
@step_up_required
@require_http_methods(["GET", "POST"])
def secret_rotate(request, endpoint_id: int):
    endpoint = _owned_endpoint(request, endpoint_id)
    form = SecretRotateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.endpoint_rotate_secret(
                actor=Actor.from_request(request),
                endpoint=endpoint,
                overlap=form.cleaned_data["overlap"],
                new_secret=form.cleaned_data["new_secret"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error("new_secret" if field == "secret" else None, errors)
        else:
            messages.success(request, "Signing secret rotated.")
            response = redirect("webhooks:detail", endpoint_id=endpoint.pk)
            payload = {"endpoint_id": endpoint.pk, "secret": secret}
            return shown_once.stash(request, response, NEW_SECRET, payload)
    return render(request, "webhooks/secret_rotate.html", {"endpoint": endpoint, "form": form})


@confirmed_action
def secret_end_overlap(request, endpoint_id: int):
    endpoint = _owned_endpoint(request, endpoint_id)
    detail = reverse("webhooks:detail", kwargs={"endpoint_id": endpoint.pk})

    def end():
        services.endpoint_end_secret_overlap(actor=Actor.from_request(request), endpoint=endpoint)
        messages.success(request, "The old secret no longer signs deliveries.")
        return redirect(detail)

    return Confirm(
        title="Stop signing with the old secret now",
        body="From the next delivery on, requests carry only the new secret's signature: "
        "receivers still holding the old secret will reject them.",
        button="End now",
        danger=True,
        cancel_url=detail,
        act=end,
    )
