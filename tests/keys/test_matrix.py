"""Every operation of the registry × every scope: a key holding only that scope gets exactly
the access the catalogue grants (2xx) or a 403 naming the scope needed. Webhooks and /me are
operations like any other: nothing is exempt."""

import pytest

from keys import scopes
from tests.support.factories import api_key_make

from .payloads import OPERATIONS, request, target_for


def test_every_family_has_crud_routes_and_the_named_actions():
    # given the declared operations
    routes = {(op.method, op.path) for op in OPERATIONS}
    # then each resource family has list/create/get/update/delete, plus launch and actions
    for family in [
        "playrooms",
        "playspecs",
        "playgrounds",
        "playzones",
        "templates",
        "agents",
        "marquees",
        "props",
        "artefacts",
        "secrets",
        "job_env",
        "repos",
    ]:
        for method, path in [
            ("GET", ""),
            ("POST", ""),
            ("GET", "/{id}"),
            ("PATCH", "/{id}"),
            ("DELETE", "/{id}"),
        ]:
            assert (method, f"/{family}{path}") in routes
    for action in ["start", "stop", "extend", "recreate"]:
        assert ("POST", f"/playgrounds/{{id}}/{action}") in routes
    assert ("POST", "/playspecs/{id}/launch") in routes
    for method, path in [
        ("GET", ""),
        ("POST", ""),
        ("GET", "/{endpoint_id}"),
        ("PATCH", "/{endpoint_id}"),
        ("DELETE", "/{endpoint_id}"),
        ("GET", "/{endpoint_id}/deliveries"),
        ("POST", "/{endpoint_id}/test"),
        ("POST", "/{endpoint_id}/recover"),
        ("POST", "/deliveries/{delivery_id}/redeliver"),
    ]:
        assert (method, f"/webhooks{path}") in routes
    assert ("GET", "/me") in routes


@pytest.mark.parametrize("scope", sorted(scopes.CATALOGUE))
def test_key_with_one_scope_gets_exactly_what_the_catalogue_grants(scope, user, api_client):
    # given a key holding only this scope
    _, token = api_key_make(user, scope, rate_limit_per_minute=10_000)
    client = api_client(token)
    granted = 0
    for op in OPERATIONS:
        # when it calls the operation on a record of its own account
        response = request(client, op, target_for(op, user))
        # then the catalogue decides: success, or a 403 naming the scope needed
        if op.scope is None or scopes.permits([scope], op.scope):
            assert response.status_code == op.status, (op.name, response.content)
            granted += op.scope is not None
        else:
            assert response.status_code == 403, (op.name, response.content)
            body = response.json()
            assert body["code"] == "insufficient_scope"
            assert f"'{op.scope}'" in body["message"]
    # and every family scope opens at least one operation (mcp:access, a narrow scope
    # without operations in this API, opens none)
    assert (granted > 0) == (scopes.CATALOGUE[scope].family is not None)


def test_manage_reaches_every_operation_of_its_family_and_nothing_else(user, api_client):
    # given a key with playgrounds:manage
    _, token = api_key_make(user, "playgrounds:manage")
    client = api_client(token)
    for op in OPERATIONS:
        response = request(client, op, target_for(op, user))
        # then every playground operation succeeds and every other family is refused
        if op.group == "playgrounds" or op.scope is None:
            assert response.status_code == op.status, (op.name, response.content)
        else:
            assert response.status_code == 403, op.name
