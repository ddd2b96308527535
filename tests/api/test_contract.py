"""The OpenAPI schema says what the server accepts: bodies are objects, fields are nullable only
when they may be null, unknown fields are refused, state conflicts are a documented 409, a
deleted record is gone, creates link to what takes their ID, and the MCP tools carry the same
constraints."""

import pytest
from django.test import Client

from fibe_access.api.operations import REGISTRY
from fibe_access.mcp import tools
from fibe_access.resources.models import Playground, Playspec
from tests.support.factories import api_key_make, resource_make

NOT_OBJECTS = [("null", "null"), ("[]", "an array"), ("7", "a number"), ('"x"', "a string")]


@pytest.fixture
def schema(client, db):
    return client.get("/api/v1/openapi.json").json()


@pytest.fixture
def spec_client(user, api_client):
    spec = resource_make(Playspec, user)
    _, token = api_key_make(user, "playspecs:manage", "playgrounds:manage", "launch:write")
    return spec, api_client(token)


@pytest.mark.parametrize(("body", "kind"), NOT_OBJECTS)
@pytest.mark.parametrize("where", ["patch", "launch"])
def test_a_body_that_is_not_an_object_is_a_422_naming_the_body(body, kind, where, spec_client):
    spec, client = spec_client
    url = f"/api/v1/playspecs/{spec.pk}" + ("/launch" if where == "launch" else "")
    send = client.patch if where == "patch" else client.post
    answer = send(url, body, content_type="application/json")
    assert answer.status_code == 422, answer.content
    assert answer.json()["errors"] == [
        {"field": "body", "message": f"Send a JSON object, not {kind}."}
    ]
    assert not Playground.objects.exists()
    # and no body at all is the empty object an optional body allows
    assert client.generic("POST", f"/api/v1/playspecs/{spec.pk}/launch").status_code == 201


def test_patch_fields_are_optional_and_not_nullable_in_the_schema_and_the_server(
    schema, spec_client
):
    spec, client = spec_client
    patch = schema["components"]["schemas"]["PlayspecPatch"]
    assert "required" not in patch and patch["additionalProperties"] is False
    name = patch["properties"]["name"]
    assert (name["type"], name["minLength"], "anyOf" in name, "default" in name) == (
        "string",
        1,
        False,
        False,
    )
    answer = client.patch(f"/api/v1/playspecs/{spec.pk}", {"name": None}, "application/json")
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "name"


def test_every_body_refuses_the_fields_it_does_not_name(schema, spec_client):
    for op in REGISTRY.values():
        if op.body is not None:
            assert op.body.model_json_schema()["additionalProperties"] is False, op.name
    spec, client = spec_client
    answer = client.patch(f"/api/v1/playspecs/{spec.pk}", {"colour": "red"}, "application/json")
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "colour"
    spec.refresh_from_db()
    assert spec.name != "red"


def test_rules_the_model_enforces_are_in_the_schema(schema):
    parts = schema["components"]["schemas"]
    assert parts["JobEnvIn"]["properties"]["key"]["pattern"] == "^[A-Za-z_][A-Za-z0-9_]*$"
    assert parts["SecretIn"]["properties"]["value"]["minLength"] == 1
    assert parts["TemplateIn"]["properties"]["source_url"]["pattern"].startswith("^https?://")
    assert "anyOf" not in parts["PlayroomIn"]["properties"]["description"]
    assert parts["PlaygroundOut"]["properties"]["status"]["enum"] == list(Playground.Status.values)
    events = parts["EndpointIn"]["properties"]["events"]
    assert events["minItems"] == 1 and "enum" in events["items"]


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"steps": [{"run": "echo \x00"}]}, "A string holds a NUL character (at steps[0].run)."),
        ({"env": {"A\x00": "1"}}, "A key holds a NUL character (in env)."),
        ({"deep": [[[["\x00"]]]]}, "A string holds a NUL character (at deep[0][0][0][0])."),
    ],
)
def test_a_nul_nested_anywhere_in_a_config_is_a_422_and_the_schema_says_so(
    config, problem, schema, spec_client
):
    # given the schema: config is one recursive JSON value whose strings and keys hold no NUL
    parts = schema["components"]["schemas"]
    value = parts["PlayspecIn"]["properties"]["config"]
    ref = {"$ref": "#/components/schemas/JsonValue"}
    assert value["patternProperties"] == {"^[^\\x00]*$": ref}
    assert value["additionalProperties"] is False
    kinds = parts["JsonValue"]["anyOf"]
    assert {"pattern": "^[^\\x00]*$", "type": "string"} in kinds
    assert {"items": ref, "type": "array"} in kinds
    # and the MCP tool's input schema says the same, with its own $defs
    tool = tools.input_schema(REGISTRY["playspecs.create"])
    assert tool["properties"]["config"]["patternProperties"] == {
        "^[^\\x00]*$": {"$ref": "#/$defs/JsonValue"}
    }
    assert tool["$defs"]["JsonValue"]["anyOf"][2] == {"pattern": "^[^\\x00]*$", "type": "string"}
    # when a NUL hides deep in a config, then the create and the update are a 422 naming config
    spec, client = spec_client
    for send, url in (
        (client.post, "/api/v1/playspecs"),
        (client.patch, f"/api/v1/playspecs/{spec.pk}"),
    ):
        answer = send(url, {"name": "n", "config": config}, "application/json")
        assert answer.status_code == 422, answer.content
        assert answer.json()["errors"] == [{"field": "config", "message": problem}]
    assert Playspec.objects.count() == 1
    # while any JSON without one is stored as sent
    config = {"a": [1, 2.5, None, True, {"b": "ü"}], "": {}}
    answer = client.patch(f"/api/v1/playspecs/{spec.pk}", {"config": config}, "application/json")
    assert answer.status_code == 200 and answer.json()["config"] == config


def test_state_conflicts_are_a_409_documented_per_operation(schema, user, spec_client):
    _, client = spec_client
    running = resource_make(Playground, user, status=Playground.Status.RUNNING)
    answer = client.post(f"/api/v1/playgrounds/{running.pk}/start")
    assert answer.status_code == 409
    assert answer.json() == {
        "code": "conflict",
        "message": "A running playground cannot be started.",
    }
    documented = {
        op.name
        for op in REGISTRY.values()
        if 409 in _responses(schema, op) and "409 `conflict`" in op.description
    }
    assert {"playgrounds.start", "playgrounds.stop", "playgrounds.extend"} <= documented
    assert {op.name for op in REGISTRY.values() if op.conflict} == documented


def test_a_deleted_record_is_gone_in_every_family(schema, user, spec_client):
    spec, client = spec_client
    playground = resource_make(Playground, user, playspec=spec)
    for url in (f"/api/v1/playgrounds/{playground.pk}", f"/api/v1/playspecs/{spec.pk}"):
        assert client.delete(url).status_code == 204
        assert client.get(url).status_code == 404
        assert client.delete(url).status_code == 404
    for op in REGISTRY.values():
        if op.method == "DELETE":
            assert op.status == 204 and 204 in _responses(schema, op)
    assert "not found (404)" in REGISTRY["playgrounds.delete"].description
    assert "playground.destroyed" in REGISTRY["playgrounds.delete"].description


def test_every_create_links_to_the_operations_taking_its_id(schema):
    for op in REGISTRY.values():
        if op.action != "create":
            continue
        links = _entry(schema, op)["responses"]["201"]["links"]
        targets = {link["operationId"] for link in links.values()}
        for action in ("get", "update", "delete"):
            assert REGISTRY[f"{op.group}.{action}"].operation_id in targets, op.name
        for link in links.values():
            assert list(link["parameters"].values()) == ["$response.body#/id"]
    launched = _entry(schema, REGISTRY["playspecs.launch"])["responses"]["201"]["links"]
    assert REGISTRY["playgrounds.start"].operation_id in {
        link["operationId"] for link in launched.values()
    }


def test_mcp_tools_carry_the_same_constraints():
    key = tools.input_schema(REGISTRY["job_env.create"])["properties"]["key"]
    assert key["pattern"] == "^[A-Za-z_][A-Za-z0-9_]*$" and key["minLength"] == 1
    name = tools.input_schema(REGISTRY["playrooms.update"])["properties"]["name"]
    assert name["minLength"] == 1 and "anyOf" not in name
    events = tools.input_schema(REGISTRY["webhooks.create"])["properties"]["events"]
    assert "enum" in events["items"]


def _entry(schema, op):
    return schema["paths"]["/api/v1" + op.path][op.method.lower()]


def _responses(schema, op):
    return {int(status) for status in _entry(schema, op)["responses"]}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("patch", "/webhooks/{hook}", {"is_active": "true"}, "is_active"),
        ("patch", "/webhooks/{hook}", {"is_active": 1}, "is_active"),
        ("post", "/webhooks/{hook}/recover", {"since": 1700000000}, "since"),
        ("post", "/webhooks/{hook}/recover", {"since": "1700000000"}, "since"),
        ("post", "/webhooks/{hook}/recover", {"since": "2030-01-15"}, "since"),
        ("post", "/playspecs/{spec}/launch", {"expires_at": "2030-01-15 10:30:00"}, "expires_at"),
        ("get", "/webhooks/{hook}/deliveries?is_test=yes", None, "is_test"),
        ("get", "/webhooks/{hook}/deliveries?is_test=1", None, "is_test"),
    ],
)
def test_a_value_of_another_json_type_than_the_schema_says_is_refused(
    method, path, body, field, user, spec_client, make_endpoint
):
    # given a boolean, a date-time (RFC 3339, with its offset) or a boolean query parameter
    spec, _ = spec_client
    hook = make_endpoint("https://example.com/hook")
    _, token = api_key_make(user, "webhooks:manage", "launch:write")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    url = "/api/v1" + path.format(hook=hook.pk, spec=spec.pk)
    # when it is sent as another type (pydantic's lax mode would read each of these)
    send = getattr(client, method)
    answer = send(url, body, "application/json") if body is not None else send(url)
    # then it is a 422 naming it, and nothing changed
    assert answer.status_code == 422, answer.content
    assert answer.json()["errors"][0]["field"] == field
    hook.refresh_from_db()
    assert hook.is_active and not Playground.objects.exists()
    # while the schema's own spelling is read
    assert client.get(f"/api/v1/webhooks/{hook.pk}/deliveries?is_test=false").status_code == 200


@pytest.mark.parametrize("since", ["3129-04-07T09:39:48+23:22", "0001-01-01T00:00:00+01:00"])
def test_a_time_with_any_rfc3339_offset_is_read(since, user, make_endpoint):
    # given an offset PostgreSQL refuses (past 15:59) or a moment before year 1 in UTC
    hook = make_endpoint("https://example.com/hook")
    _, token = api_key_make(user, "webhooks:manage")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    # when it is sent, then it is read (in UTC), not a 500
    answer = client.post(
        f"/api/v1/webhooks/{hook.pk}/recover", {"since": since}, "application/json"
    )
    assert answer.status_code == 202, answer.content
