"""Walks every URL pattern under /profile/ so a new management view cannot forget the step-up."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

# Pages a signed-in user must reach without a fresh step-up: the step-up itself, enrolling the
# first authenticator, the one-time backup code display, and the security overview.
OPEN_PAGES = {
    "/profile/",
    "/profile/security/",
    "/profile/verify/",
    "/profile/totp/",
    "/profile/backup-codes/",
}


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def _concrete(route: str) -> str:
    route = re.sub(r"<int:\w+>", "999999", route)
    route = re.sub(r"<uuid:\w+>", "00000000-0000-0000-0000-000000000000", route)
    route = re.sub(r"<(?:str|slug)?:?\w+>", "x", route)
    return "/" + route.lstrip("^").rstrip("$")


PROFILE_URLS = sorted(
    {_concrete(r) for r in _walk(get_resolver().url_patterns) if r.startswith("profile/")}
    - OPEN_PAGES
)


def test_the_walk_finds_the_management_pages():
    assert "/profile/api-keys/" in PROFILE_URLS
    assert "/profile/webhooks/" in PROFILE_URLS
    assert "/profile/delete/" in PROFILE_URLS


@pytest.mark.parametrize("url", PROFILE_URLS)
def test_every_management_url_redirects_to_the_step_up(url, logged_in_client, totp_device):
    for method in ("get", "post"):
        response = getattr(logged_in_client, method)(url)
        assert response.status_code == 302, (method, url, response.status_code)
        assert response["Location"].startswith("/profile/verify/?next="), (method, url)


@pytest.mark.parametrize("url", PROFILE_URLS)
def test_every_management_url_sends_anonymous_users_to_sign_in(url, client, db):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
