"""Profile → API Keys. Every view needs a recent step-up; each one calls a single service."""

from urllib.parse import urlencode

from django.conf import settings
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

from . import activity_selectors, confirmations, presenters, selectors, services
from .activity_presenters import ActivityFilterForm, usage_picture
from .forms import KeyAllowedIpsForm, KeyCreateForm, KeyRotateForm
from .models import ApiKey

ACTIVITY_PAGE = 25
KEYS_PAGE = 20  # a page of Profile → API Keys (issue 27: 500 keys cost what 20 do)
SEARCH_MAX = 100
NEW_TOKEN = "api_token"  # noqa: S105 - the name of a shown-once slot


def _owned_key(request, key_id: int) -> ApiKey:
    key = selectors.key_get(owner=request.user, pk=key_id)
    if key is None:
        raise Http404("No such API key.")
    return key


def _show_token_once(request, key: ApiKey, token: str):
    response = redirect("keys:token", key_id=key.pk)
    return shown_once.stash(request, response, NEW_TOKEN, {"key_id": key.pk, "token": token})


@login_required
@step_up_required
def key_list(request):
    """A page of the account's keys, newest first, searchable by label: compact rows (the
    whole of a key, its switches and its activity on the key's own page)."""
    search = request.GET.get("q", "").strip()[:SEARCH_MAX].replace("\x00", "")
    page = keyset.page(
        selectors.key_list(owner=request.user, label=search),
        size=KEYS_PAGE,
        before=request.GET.get("before"),
        after=request.GET.get("after"),
    )
    pending = confirmations.pending_by_key(owner=request.user)  # issue 22
    return render(
        request,
        "keys/list.html",
        {
            "cards": presenters.key_cards(page.items),
            "page": page,
            "search": search,
            "query": urlencode({"q": search}) if search else "",
            "pending": pending,
        },
    )


@login_required
@step_up_required
@require_http_methods(["GET"])
def key_detail(request, key_id: int):
    """A key and what it did (issue 24): its usage picture and its activity, filterable, each
    write with the webhook deliveries it caused."""
    key = _owned_key(request, key_id)
    form = ActivityFilterForm(request.GET or None)
    filters = form.filters()
    entries = activity_selectors.activity_list(key_id=key.pk, **filters)
    page = keyset.page(
        entries,
        size=ACTIVITY_PAGE,
        before=request.GET.get("before"),
        after=request.GET.get("after"),
        field="at",
    )
    return render(
        request,
        "keys/detail.html",
        {
            "card": presenters.key_cards([key])[0],
            "key": key,
            "pending": confirmations.pending_by_key(owner=request.user),
            "picture": usage_picture(activity_selectors.hourly_usage(key_id=key.pk)),
            "form": form,
            "page": page,
            "entries": activity_selectors.with_deliveries(
                owner=request.user, key_id=key.pk, entries=page.items
            ),
            "query": urlencode(filters),
            "retention_days": settings.API_ACTIVITY_RETENTION.days,
        },
    )


@login_required
@verified_email_required
@step_up_required
@require_http_methods(["GET", "POST"])
def key_create(request):
    choices = presenters.resource_choices(owner=request.user)
    form = KeyCreateForm(
        request.POST or None,
        resource_choices=choices,
        max_lifetime_days=request.user.key_max_lifetime_days,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            key, token = services.key_create(
                actor=Actor.from_request(request),
                owner=request.user,
                label=data["label"],
                scope_names=data["scopes"],
                expires_at=data["expires_at"],
                restrictions=data["restrictions"],
                is_agent=data["is_agent"],
                allowed_ips=data["allowed_ips"],
                confirm_destructive=data["confirm_destructive_on"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            return _show_token_once(request, key, token)
    return render(
        request,
        "keys/create.html",
        {
            "form": form,
            "picker": presenters.scope_picker(form),
            "restrict_fields": [form[f"restrict_{f}"] for f in form.restrict_families],
            "has_resources": any(choices.values()),
        },
    )


def _add_service_errors(form, exc: ValidationError) -> None:
    field_map = {
        "expires_at": "expires_on",
        "restrictions": None,
        "label": "label",
        "scopes": "scopes",
        "allowed_ips": "allowed_ips",
    }
    for field, errors in exc.message_dict.items():
        target = field_map.get(field)
        form.add_error(target if target in form.fields else None, errors)


@login_required
@step_up_required
@never_cache
def key_token(request, key_id: int):
    """The token of a key just created or rotated, shown once: a reload shows nothing."""
    shown = shown_once.take(request, NEW_TOKEN)
    if not shown or shown.get("key_id") != key_id:
        messages.info(
            request, "For your safety a token is only shown once. Rotate the key to get a new one."
        )
        return shown_once.forget(redirect("keys:list"), NEW_TOKEN)
    key = _owned_key(request, key_id)
    response = render(request, "keys/token.html", {"key": key, "token": shown["token"]})
    return shown_once.forget(response, NEW_TOKEN)


@login_required
@step_up_required
@require_http_methods(["GET", "POST"])
def key_rotate(request, key_id: int):
    key = _owned_key(request, key_id)
    form = KeyRotateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            key, token = services.key_rotate(
                actor=Actor.from_request(request), key=key, overlap=form.cleaned_data["overlap"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("keys:list")
        return _show_token_once(request, key, token)
    return render(request, "keys/rotate.html", {"key": key, "form": form})


@confirmed_action
def key_end_overlap(request, key_id: int):
    """ "Stop it now": the old token of an overlapping rotation stops at once."""
    key = _owned_key(request, key_id)
    if not key.previous_digest and request.method == "GET":
        return redirect("keys:list")

    def stop():
        services.key_end_overlap(actor=Actor.from_request(request), key=key)
        messages.success(request, f"The old token of “{key.label}” has stopped working.")
        return redirect("keys:list")

    return Confirm(
        cancel_url=reverse("keys:list"),
        title=f"Stop the old token of “{key.label}” now",
        body=f"The token ending in …{key.previous_last4} stops working at once; the current "
        f"token (…{key.last4}) keeps working.",
        button="Stop it now",
        danger=True,
        act=stop,
    )


@login_required
@step_up_required
@require_http_methods(["GET", "POST"])
def key_allowed_ips(request, key_id: int):
    key = _owned_key(request, key_id)
    initial = {"allowed_ips": "\n".join(key.allowed_ips or [])}
    form = KeyAllowedIpsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.key_set_allowed_ips(
                actor=Actor.from_request(request),
                key=key,
                allowed_ips=form.cleaned_data["allowed_ips"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"Allowed addresses of “{key.label}” saved.")
            return redirect("keys:list")
    return render(request, "keys/allowed_ips.html", {"key": key, "form": form})


@confirmed_action
def key_expire(request, key_id: int):
    key = _owned_key(request, key_id)

    def expire():
        services.key_expire_now(actor=Actor.from_request(request), key=key)
        messages.success(request, f"“{key.label}” has expired. Calls with it now fail.")
        return redirect("keys:list")

    return Confirm(
        cancel_url=reverse("keys:list"),
        title=f"Expire “{key.label}” now",
        body="Every call made with this key (and with the old token of a rotation) will fail "
        "from now on. The key stays listed so you can see its history.",
        button="Expire now",
        danger=True,
        act=expire,
    )


@confirmed_action
def key_delete(request, key_id: int):
    key = _owned_key(request, key_id)

    def delete():
        services.key_delete(actor=Actor.from_request(request), key=key)
        messages.success(request, f"“{key.label}” was deleted.")
        return redirect("keys:list")

    return Confirm(
        cancel_url=reverse("keys:list"),
        title=f"Delete “{key.label}”",
        body="The key is removed for good and every call made with it fails.",
        button="Delete key",
        danger=True,
        act=delete,
    )


@confirmed_action
def key_reveal(request, key_id: int):
    key = _owned_key(request, key_id)
    if not key.is_agent:
        raise Http404("Only agent keys can be revealed.")

    def reveal():
        try:
            token = services.key_reveal(actor=Actor.from_request(request), key=key)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("keys:list")
        return render(request, "keys/token.html", {"key": key, "token": token, "revealed": True})

    return Confirm(
        cancel_url=reverse("keys:list"),
        title=f"Reveal “{key.label}”",
        body="The token will be shown on the next page. Revealing is recorded in "
        "your security log.",
        button="Reveal token",
        act=reveal,
    )
