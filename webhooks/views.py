"""Profile → Webhooks. Every view needs a recent step-up and calls one service or selector."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from fibe_access import keyset
from fibe_access.accounts import shown_once
from fibe_access.accounts.actor import Actor
from fibe_access.accounts.pages import Confirm, confirmed_action, verified_email_required
from fibe_access.accounts.stepup import step_up_required

from . import listen, listen_log, presenters, selectors, services
from .forms import DeliveryFilterForm, EndpointForm, RecoverForm
from .models import Delivery

NEW_SECRET = "webhook_secret"  # noqa: S105 - the name of a shown-once slot
PAGE_SIZE = 25


def _send_limited(request, exc: services.SendsLimited, confirm: Confirm):
    """The confirm page again, as a 429 saying why (and when to try again)."""
    messages.error(request, str(exc))
    page = confirm.page(request)
    page.status_code = 429
    page["Retry-After"] = str(exc.retry_after)
    return page


def _owned_endpoint(request, endpoint_id: int):
    endpoint = selectors.endpoint_get(owner=request.user, endpoint_id=endpoint_id)
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


def _owned_delivery(request, delivery_id: int) -> Delivery:
    delivery = selectors.delivery_get(owner=request.user, delivery_id=delivery_id)
    if delivery is None:
        raise Http404("No such delivery.")
    return delivery


def _form_errors(form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@login_required
@step_up_required
def endpoint_list(request):
    endpoints = list(selectors.endpoint_list(owner=request.user))
    outcomes = presenters.recent_outcomes([e.pk for e in endpoints])
    rows = [
        {
            "endpoint": e,
            "strip": presenters.strip(outcomes.get(e.pk, [])),
            "last": (outcomes.get(e.pk) or [None])[-1],
        }
        for e in endpoints
    ]
    return render(
        request,
        "webhooks/list.html",
        {
            "rows": rows,
            "snippet": presenters.SIGNATURE_SNIPPET,
            "sessions": listen.live(request.user),
            "cli_log": listen_log.any_for(request.user),
        },
    )


@login_required
@step_up_required
@never_cache
def listen_deliveries(request):
    """The delivery log of the account's listen sessions (`fibe listen`), as an endpoint's."""
    filters = DeliveryFilterForm(request.GET or None)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    session = request.GET.get("session", "")
    session_ref = int(session) if session.isascii() and session.isdigit() else None
    if session_ref is not None and session_ref > 2**63 - 1:
        session_ref = None
    deliveries = listen_log.deliveries(
        owner=request.user,
        session_ref=session_ref,
        event=criteria.get("event") or None,
        status=criteria.get("status") or None,
        is_test={"test": True, "real": False}.get(criteria.get("kind")),
    )
    page = keyset.page(
        deliveries,
        size=PAGE_SIZE,
        before=request.GET.get("before"),
        after=request.GET.get("after"),
    )
    return render(
        request,
        "webhooks/listen_log.html",
        {
            "filters": filters,
            "page": page,
            "query": keyset.query_without_position(request.GET),
            "session_ref": session_ref,
            "sessions": listen.live(request.user),
        },
    )


def _to_detail(request, endpoint, *, show_secret: bool):
    response = redirect("webhooks:detail", endpoint_id=endpoint.pk)
    if show_secret:
        payload = {"endpoint_id": endpoint.pk, "secret": endpoint.secret}
        shown_once.stash(request, response, NEW_SECRET, payload)
    return response


@login_required
@verified_email_required
@step_up_required
@require_http_methods(["GET", "POST"])
def endpoint_create(request):
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actor = Actor.from_request(request)
        try:
            endpoint = services.endpoint_create(
                actor=actor,
                url=data["url"],
                events=data["events"],
                secret=data["secret"],
                description=data["description"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            if not data["is_active"]:
                services.endpoint_disable(actor=actor, endpoint=endpoint)
            messages.success(
                request, "Webhook endpoint added. Press “Test webhook” to send it a sample event."
            )
            return _to_detail(request, endpoint, show_secret=bool(endpoint.secret))
    return render(request, "webhooks/form.html", {"form": form, "editing": False})


@login_required
@step_up_required
@require_http_methods(["GET", "POST"])
def endpoint_edit(request, endpoint_id: int):
    endpoint = _owned_endpoint(request, endpoint_id)
    initial = {
        "url": endpoint.url,
        "events": endpoint.events,
        "is_active": endpoint.is_active,
        "description": endpoint.description,
    }
    form = EndpointForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actor = Actor.from_request(request)
        changes = {"url": data["url"], "events": data["events"], "description": data["description"]}
        if data.get("remove_secret"):
            changes["secret"] = ""
        elif data["secret"]:
            changes["secret"] = data["secret"]
        try:
            endpoint = services.endpoint_update(actor=actor, endpoint=endpoint, **changes)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            if data["is_active"] and not endpoint.is_active:
                endpoint = services.endpoint_enable(actor=actor, endpoint=endpoint)
            elif not data["is_active"] and endpoint.is_active:
                endpoint = services.endpoint_disable(actor=actor, endpoint=endpoint)
            messages.success(request, "Webhook endpoint saved.")
            return _to_detail(request, endpoint, show_secret=bool(changes.get("secret")))
    return render(
        request,
        "webhooks/form.html",
        {
            "form": form,
            "editing": True,
            "endpoint": endpoint,
            "secret_hint": presenters.endpoint_secret_hint(endpoint),
        },
    )


@login_required
@step_up_required
@never_cache
def endpoint_detail(request, endpoint_id: int):
    endpoint = _owned_endpoint(request, endpoint_id)
    filters = DeliveryFilterForm(request.GET or None)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    kind = criteria.get("kind")
    deliveries = selectors.delivery_list(
        endpoint=endpoint,
        event=criteria.get("event") or None,
        status=criteria.get("status") or None,
        is_test={"test": True, "real": False}.get(kind),
        summary=True,
    )
    page = keyset.page(
        deliveries,
        size=PAGE_SIZE,
        before=request.GET.get("before"),
        after=request.GET.get("after"),
    )
    for delivery in page.items:
        attempts = list(delivery.attempts.all())  # prefetched: no query per row
        delivery.last_attempt = attempts[-1] if attempts else None
    shown = shown_once.take(request, NEW_SECRET) or {}
    new_secret = shown.get("secret") if shown.get("endpoint_id") == endpoint.pk else None
    outcomes = presenters.recent_outcomes([endpoint.pk])
    response = render(
        request,
        "webhooks/detail.html",
        {
            "endpoint": endpoint,
            "filters": filters,
            "page": page,
            "query": keyset.query_without_position(request.GET),
            "new_secret": new_secret,
            "secret_hint": presenters.endpoint_secret_hint(endpoint),
            "old_secret_until": (
                endpoint.previous_secret_expires_at if endpoint.previous_secret_usable() else None
            ),
            "recover_form": RecoverForm(),
            "snippet": presenters.SIGNATURE_SNIPPET,
            "strip": presenters.strip(outcomes.get(endpoint.pk, [])),
        },
    )
    return shown_once.forget(response, NEW_SECRET)


@login_required
@step_up_required
def delivery_detail(request, delivery_id: int):
    delivery = _owned_delivery(request, delivery_id)
    return render(
        request,
        "webhooks/delivery.html",
        {
            "delivery": delivery,
            "endpoint": delivery.endpoint,
            "attempts": list(delivery.attempts.all()),
            "body": bytes(delivery.event.body).decode("utf-8", "replace"),
        },
    )


@confirmed_action
def endpoint_test(request, endpoint_id: int):
    endpoint = _owned_endpoint(request, endpoint_id)

    def send():
        try:
            services.endpoint_test(actor=Actor.from_request(request), endpoint=endpoint)
        except services.SendsLimited as exc:
            return _send_limited(request, exc, confirm)
        messages.success(
            request, "Test event sent: a sample playground.created. It appears below in a moment."
        )
        return redirect(confirm.cancel_url)

    confirm = Confirm(
        title="Send a test event",
        body=f"Fibe sends a sample playground.created to {endpoint.url}, marked as "
        "a test. Tests are not retried.",
        button="Send test webhook",
        cancel_url=reverse("webhooks:detail", kwargs={"endpoint_id": endpoint.pk}),
        act=send,
    )
    return confirm


@confirmed_action
def delivery_redeliver(request, delivery_id: int):
    delivery = _owned_delivery(request, delivery_id)

    def redeliver():
        try:
            services.delivery_redeliver(actor=Actor.from_request(request), delivery=delivery)
        except services.SendsLimited as exc:
            return _send_limited(request, exc, confirm)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Sent again. The new attempt appears in the history.")
        return redirect(confirm.cancel_url)

    confirm = Confirm(
        title="Redeliver this event",
        body="The same body is sent again now, with the same delivery id, as a manual attempt.",
        button="Redeliver",
        cancel_url=reverse("webhooks:delivery", kwargs={"delivery_id": delivery.pk}),
        act=redeliver,
    )
    return confirm


@login_required
@step_up_required
@require_http_methods(["POST"])
def deliveries_recover(request, endpoint_id: int):
    endpoint = _owned_endpoint(request, endpoint_id)
    form = RecoverForm(request.POST)
    if form.is_valid():
        try:
            count = services.deliveries_recover_failed(
                actor=Actor.from_request(request),
                endpoint=endpoint,
                since=form.cleaned_data["since"],
            )
        except services.SendsLimited as exc:
            messages.error(request, str(exc))
            return redirect("webhooks:detail", endpoint_id=endpoint.pk)
        messages.success(
            request, f"Sending {count} failed deliver{'y' if count == 1 else 'ies'} again."
        )
    else:
        messages.error(request, "Give a valid date and time to recover failed deliveries from.")
    return redirect("webhooks:detail", endpoint_id=endpoint.pk)


@confirmed_action
def endpoint_enable(request, endpoint_id: int):
    endpoint = _owned_endpoint(request, endpoint_id)
    detail = reverse("webhooks:detail", kwargs={"endpoint_id": endpoint.pk})

    def enable():
        try:
            services.endpoint_enable(actor=Actor.from_request(request), endpoint=endpoint)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Endpoint re-enabled: new events will be delivered.")
        return redirect(detail)

    return Confirm(
        title="Re-enable this endpoint",
        body="New events are delivered again. Failed deliveries are not resent: "
        "use “Recover failed deliveries” for those.",
        button="Re-enable",
        cancel_url=detail,
        act=enable,
    )


@confirmed_action
def endpoint_delete(request, endpoint_id: int):
    endpoint = _owned_endpoint(request, endpoint_id)

    def delete():
        services.endpoint_delete(actor=Actor.from_request(request), endpoint=endpoint)
        messages.success(request, f"Deleted the endpoint {endpoint.url}.")
        return redirect("webhooks:list")

    return Confirm(
        title="Delete this endpoint",
        body=f"{endpoint.url} stops receiving events and its delivery log is deleted.",
        button="Delete endpoint",
        danger=True,
        cancel_url=reverse("webhooks:detail", kwargs={"endpoint_id": endpoint.pk}),
        act=delete,
    )
