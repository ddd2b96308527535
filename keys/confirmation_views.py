"""Confirm destructive actions (issue 22): the switch on a key's card and the page where its
owner approves or denies one waiting call. Both behind sign-in and a recent step-up."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from fibe_access.accounts.actor import Actor
from fibe_access.accounts.pages import Confirm, confirmed_action
from fibe_access.accounts.stepup import step_up_required

from . import confirmations, services


@confirmed_action
def key_confirm_switch(request, key_id: int):
    key = confirmations.credential_get(owner=request.user, pk=key_id)
    if key is None:
        raise Http404("No such API key.")
    turn_on = not key.confirm_destructive

    def switch():
        services.key_set_confirm_destructive(actor=Actor.from_request(request), key=key, on=turn_on)
        state = "on" if turn_on else "off"
        messages.success(request, f"Confirm destructive actions is {state} for “{key.label}”.")
        return redirect("keys:list")

    body = (
        "Deletes, destroys, recreates and secret changes made with this key will wait until you "
        "approve each one, after your second factor."
        if turn_on
        else "Destructive calls made with this key will run at once, without asking you."
    )
    return Confirm(
        act=switch,
        cancel_url=reverse("keys:list"),
        title=f"Turn {'on' if turn_on else 'off'} “Confirm destructive actions” for “{key.label}”",
        body=body,
        button="Turn on" if turn_on else "Turn off",
        danger=not turn_on,
    )


@login_required
@step_up_required
@never_cache
@require_http_methods(["GET", "POST"])
def confirmation(request, confirmation_id: int):
    found = confirmations.confirmation_get(owner=request.user, pk=confirmation_id)
    if found is None:
        raise Http404("No such confirmation.")
    if request.method == "POST":
        decision = request.POST.get("decision")
        if decision not in ("approve", "deny"):
            messages.error(request, "Choose Approve or Deny.")
            return redirect("keys:confirmation", confirmation_id=found.pk)
        try:
            found = confirmations.confirmation_decide(
                actor=Actor.from_request(request), confirmation=found, approve=decision == "approve"
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if decision == "approve":
                messages.success(
                    request,
                    "Approved. The same call, repeated once within 10 minutes, will go ahead.",
                )
            else:
                messages.success(request, "Denied. Nothing was changed.")
        return redirect("keys:confirmation", confirmation_id=found.pk)
    return render(
        request,
        "keys/confirmation.html",
        {"c": found, "key": found.key, "open": found.is_open()},
    )
