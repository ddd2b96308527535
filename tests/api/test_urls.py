"""The API's mount (fibe_access.api.urls): a path is resolved through its first segment's
patterns only, to the same view Django's plain resolution finds, and reversing is unchanged."""

import re

import pytest
from django.urls import URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RoutePattern

from fibe_access.api.urls import SegmentResolver


def _mounted() -> SegmentResolver:
    return next(p for p in get_resolver().url_patterns if isinstance(p, SegmentResolver))


def _sample(route: str) -> str:
    """A concrete path for a route: every converter given the value 7."""
    return re.sub(r"<[^>]+>", "7", route)


def _plain() -> URLResolver:
    """Django's own resolver over the very same patterns."""
    mounted = _mounted()
    return URLResolver(
        RoutePattern("api/v1/", is_endpoint=False),
        list(mounted.url_patterns),
        app_name=mounted.app_name,
        namespace=mounted.namespace,
    )


def test_the_api_is_mounted_by_segment():
    assert _mounted().pattern.describe() == "'api/v1/'"


def test_every_route_resolves_as_plain_django_would():
    mounted, plain = _mounted(), _plain()
    routes = [str(p.pattern) for p in mounted.url_patterns]
    assert len(routes) > 40
    for route in routes:
        path = "api/v1/" + _sample(route)
        ours, django = mounted.resolve(path), plain.resolve(path)
        assert (ours.func, ours.kwargs, ours.route, ours.namespaces) == (
            django.func,
            django.kwargs,
            django.route,
            django.namespaces,
        ), route


def test_a_path_tries_only_the_patterns_of_its_first_segment():
    """Django records each pattern it passed over; plain resolution of a webhooks path passes
    over every family listed before it."""
    path = "api/v1/webhooks/7/deliveries"
    plain = _plain().resolve(path)
    ours = _mounted().resolve(path)
    assert ours.func is plain.func
    passed_over = {str(t[-1].pattern).partition("/")[0] for t in ours.tried}
    assert passed_over <= {"webhooks"}, passed_over
    assert len(ours.tried) < len(plain.tried)
    assert {str(t[-1].pattern).partition("/")[0] for t in plain.tried} > {"webhooks"}


@pytest.mark.parametrize("path", ["/api/v1/nothing/here", "/api/v1/playgrounds/7/nothing"])
def test_an_unknown_path_is_the_apis_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_reversing_a_name_is_unchanged():
    assert reverse("api:openapi-json") == "/api/v1/openapi.json"
    assert resolve("/api/v1/openapi.json").url_name == "openapi-json"
