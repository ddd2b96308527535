"""A new family is a model and a row of ``fibe_access.resources.registry``: a throwaway family
added in process (its model, its table in the test's transaction, its row) is picked up by every
face: its scopes and their labels, its REST routes and OpenAPI entries, the scope matrix, its
MCP tools, the CLI spec and the README's tool table. Everything is put back afterwards."""

import importlib
import types

import pytest
from django.apps import apps
from django.db import connection
from django.test import override_settings
from django.urls import path

from fibe_access.api import clispec, site
from fibe_access.api.caller import Caller
from fibe_access.api.operations import REGISTRY
from fibe_access.mcp import docs, tools
from fibe_access.mcp.tools import Narrowing
from fibe_access.resources import api as resources_api
from fibe_access.resources import registry
from fibe_access.resources.models import Resource
from keys import scopes
from tests.support.factories import api_key_make

CRUD = ("list", "create", "get", "update", "delete")


@pytest.fixture
def ornaments(db):
    """The family "ornaments": a model, its table, its row; the registry's operations declared
    from it. Undone afterwards: the model unregistered, the row, operations and scopes gone."""

    class Ornament(Resource):
        class Meta(Resource.Meta):
            app_label = "resources"

    with connection.schema_editor() as editor:
        editor.create_model(Ornament)
    saved = dict(REGISTRY)
    family = registry.Family("ornaments", Ornament, fields=("name", "description"))
    registry.FAMILIES["ornaments"] = family
    registry.RESTRICTABLE["ornaments"] = registry.Restrictable(Ornament)
    try:
        importlib.reload(scopes)  # as at start-up: the scopes of every row
        resources_api.declare(family)
        tools.by_name.cache_clear()
        yield Ornament
    finally:
        REGISTRY.clear()
        REGISTRY.update(saved)
        resources_api.SCHEMAS.pop("ornaments", None)
        registry.FAMILIES.pop("ornaments")
        registry.RESTRICTABLE.pop("ornaments")
        importlib.reload(scopes)
        tools.by_name.cache_clear()
        apps.all_models["resources"].pop("ornament")
        apps.clear_cache()


@pytest.fixture
def served(ornaments):
    """An API site built now (holding the new operations), served at /api/v1/."""
    api = site.build(urls_namespace="ornaments-test")
    urls = types.ModuleType("ornament_urls")
    urls.urlpatterns = [path("api/v1/", api.urls)]
    with override_settings(ROOT_URLCONF=urls):
        yield api


def test_the_row_gives_the_family_its_scopes_and_labels(ornaments):
    assert scopes.FAMILIES["ornaments"] == "Ornaments"
    for action in ("read", "write", "delete", "manage"):
        assert f"ornaments:{action}" in scopes.OFFERED
        assert scopes.CATALOGUE[f"ornaments:{action}"].family == "ornaments"
    assert scopes.help_text("ornaments:read") == "List and view Ornaments."
    assert scopes.restrictable_families(["ornaments:write"]) == {"ornaments"}


def test_the_row_gives_the_family_its_operations_in_english(ornaments):
    ops = {a: REGISTRY[f"ornaments.{a}"] for a in CRUD}
    assert [ops[a].summary for a in ("create", "get", "update", "delete")] == [
        "Create an ornament",
        "Get an ornament",
        "Update an ornament",
        "Delete an ornament",
    ]
    assert ops["get"].scope == "ornaments:read" and ops["get"].family == "ornaments"
    # and the families already there read as English too
    assert REGISTRY["agents.create"].summary == "Create an agent"
    assert REGISTRY["job_env.delete"].summary == "Delete a Job ENV entry"


def test_rest_routes_openapi_and_the_scope_matrix_pick_it_up(served, user, api_client):
    paths = served.get_openapi_schema()["paths"]
    assert set(paths["/api/v1/ornaments"]) == {"get", "post"}
    assert set(paths["/api/v1/ornaments/{id}"]) == {"get", "patch", "delete"}
    assert paths["/api/v1/ornaments"]["post"]["summary"] == "Create an ornament"
    # every scope of the family, and one of another, against every operation of the family
    for scope in ("ornaments:read", "ornaments:write", "ornaments:delete", "ornaments:manage"):
        _, token = api_key_make(user, scope, rate_limit_per_minute=10_000)
        client = api_client(token)
        for action in CRUD:
            op = REGISTRY[f"ornaments.{action}"]
            answer = _call(client, op, ornaments_of(user, served))
            if scopes.permits([scope], op.scope):
                assert answer.status_code == op.status, (scope, op.name, answer.content)
            else:
                assert answer.status_code == 403, (scope, op.name)
                assert f"'{op.scope}'" in answer.json()["message"]
    # a key restricted on the family: the IDs it lists, nothing else, and no new ones
    mine, other = ornaments_of(user, served), ornaments_of(user, served)
    _, token = api_key_make(user, "ornaments:manage", restrictions={"ornaments": [mine]})
    client = api_client(token)
    assert client.get(f"/api/v1/ornaments/{mine}").status_code == 200
    assert client.get(f"/api/v1/ornaments/{other}").status_code == 404
    refused = client.post("/api/v1/ornaments", {"name": "x"}, content_type="application/json")
    assert refused.status_code == 403


def ornaments_of(user, served) -> int:
    """A new ornament of ``user``'s, made through the API."""
    _, token = api_key_make(user, "ornaments:write", rate_limit_per_minute=10_000)
    from django.test import Client

    made = Client(HTTP_AUTHORIZATION=f"Bearer {token}").post(
        "/api/v1/ornaments", {"name": "bauble"}, content_type="application/json"
    )
    assert made.status_code == 201, made.content
    return made.json()["id"]


def _call(client, op, pk):
    url = "/api/v1" + op.path.replace("{id}", str(pk))
    if op.method == "GET":
        return client.get(url)
    if op.method == "DELETE":
        return client.delete(url)
    body = {"name": "bauble"} if op.action == "create" else {"description": "shiny"}
    return getattr(client, op.method.lower())(url, body, content_type="application/json")


def test_mcp_tools_pick_it_up(ornaments, user):
    key, _ = api_key_make(user, "mcp:access", "ornaments:read")
    listed = {t["name"] for t in tools.tools_for(Caller.for_key(key), Narrowing())}
    assert {"ornaments_list", "ornaments_get"} <= listed
    assert "ornaments_create" not in listed  # the key may not write
    assert "ornaments" in tools.toolsets()
    writer, _ = api_key_make(user, "ornaments:write")
    outcome = tools.call(tools.by_name()["ornaments_create"], Caller.for_key(writer), {"name": "a"})
    assert outcome.status == 201 and ornaments.objects.get().name == "a"
    assert "`ornaments_create` | `ornaments:write`" in docs.table()


def test_the_cli_spec_picks_it_up(ornaments):
    spec = clispec.build()
    assert spec["groups"]["ornaments"] == "Ornaments"
    create = next(op for op in spec["operations"] if op["name"] == "ornaments.create")
    assert (create["method"], create["path"], create["scope"]) == (
        "POST",
        "/ornaments",
        "ornaments:write",
    )
    assert {f["name"] for f in create["body"]} == {"name", "description"}


def test_a_family_event_missing_from_the_catalogue_fails_naming_it(ornaments):
    from webhooks import events

    row = registry.Family("ornaments", ornaments, create_event="ornament.created")
    assert events.missing({"ornaments": row}) == [
        "fibe_access.resources.registry: the family 'ornaments' publishes 'ornament.created'; "
        "add an EventType for it to webhooks/events.py EVENTS"
    ]
    assert events.missing() == []
