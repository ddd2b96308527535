"""Every "confirm on GET, act on POST" page has one shape (fibe_access/accounts/pages.py,
``confirmed_action``): signed in, a fresh step-up, GET or POST only, never cached."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse


def _confirmed_patterns(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            space = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            yield from _confirmed_patterns(entry, space)
        elif isinstance(entry, URLPattern) and _is_confirmed(entry.callback):
            yield f"{prefix}{entry.name}", list(entry.pattern.converters)


def _is_confirmed(view) -> bool:
    while view is not None:
        if getattr(view, "confirmed_action", False):
            return True
        view = getattr(view, "__wrapped__", None)
    return False


CONFIRMED = sorted(
    (name, {arg: "999999" if arg.endswith("_id") and arg != "session_id" else "x" for arg in args})
    for name, args in _confirmed_patterns()
)


def test_a_page_with_nothing_to_look_up_is_shown_never_cached(stepped_up_client):
    for name in ("accounts:backup_codes_regenerate", "accounts:sign_out_everywhere"):
        answer = stepped_up_client.get(reverse(name))

        assert answer.status_code == 200 and b'method="post"' in answer.content
        assert "no-cache" in answer["Cache-Control"]


def test_the_pages_are_found():
    names = [name for name, _ in CONFIRMED]
    assert {"keys:delete", "webhooks:delete", "accounts:device_remove"} <= set(names), names
    assert len(names) >= 14


@pytest.mark.parametrize("name, kwargs", CONFIRMED, ids=[n for n, _ in CONFIRMED])
def test_a_confirmed_page_needs_sign_in_then_step_up(
    name, kwargs, client, logged_in_client, totp_device
):
    url = reverse(name, kwargs=kwargs)

    assert "/login" in client.get(url)["Location"]
    stepped = logged_in_client.get(url)
    assert stepped.status_code == 302 and "verify" in stepped["Location"], stepped


@pytest.mark.parametrize("name, kwargs", CONFIRMED, ids=[n for n, _ in CONFIRMED])
def test_a_confirmed_page_takes_only_get_and_post_and_is_never_cached(
    name, kwargs, stepped_up_client
):
    url = reverse(name, kwargs=kwargs)

    assert stepped_up_client.put(url).status_code == 405
    answer = stepped_up_client.get(url)
    assert answer.status_code in (200, 302, 404)  # no such record: 404, nothing to confirm
    if answer.status_code == 200:
        assert "no-cache" in answer["Cache-Control"]
