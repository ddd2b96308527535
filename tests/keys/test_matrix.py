"""Every operation × every scope: a key holding only that scope gets exactly the access the
catalogue grants (2xx) or a 403 naming the scope needed."""

import pytest

import fibe_access.api  # noqa: F401 - builds the routes, filling OPERATIONS
from keys import scopes
from keys.api import OPERATIONS
from tests.factories import api_key_make

from .payloads import request, target_for


def test_every_family_has_crud_routes_and_the_named_actions():
    # given the generated operations
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
        if scopes.permits([scope], op.scope):
            assert response.status_code == op.ok, (op, response.content)
            granted += 1
        else:
            assert response.status_code == 403, (op, response.content)
            body = response.json()
            assert body["code"] == "insufficient_scope"
            assert f"'{op.scope}'" in body["message"]
    family = scope.split(":")[0]
    if family in ("webhooks", "mcp", "repos"):
        assert granted == 0
    else:
        assert granted > 0


def test_manage_reaches_every_operation_of_its_family_and_nothing_else(user, api_client):
    # given a key with playgrounds:manage
    _, token = api_key_make(user, "playgrounds:manage")
    client = api_client(token)
    for op in OPERATIONS:
        response = request(client, op, target_for(op, user))
        # then every playground operation succeeds and every other family is refused
        if op.path.startswith("/playgrounds"):
            assert response.status_code == op.ok, (op, response.content)
        else:
            assert response.status_code == 403, op
