"""The tools as generated from the registry, and the /mcp door's refusals, in process."""

import json

import pytest
from django.test import Client

from fibe_access.api.caller import Caller
from fibe_access.api.operations import REGISTRY
from fibe_access.mcp import docs, tools
from fibe_access.mcp.tools import Narrowing
from tests.support.factories import api_key_make


def test_readme_table_matches_the_registry():
    # `make mcpdocs` rewrites it
    assert docs.current(docs.README.read_text()) == docs.block()


def test_every_operation_is_one_tool_with_its_own_schemas_and_hints():
    assert len(tools.by_name()) == len(REGISTRY)
    assert "whoami" in tools.by_name()
    for name, op in tools.by_name().items():
        tool = tools.describe(op)
        fields = set(op.path_params)
        for model in (op.query, op.body):
            fields |= set(model.model_fields) if model else set()
        assert set(tool["input_schema"]["properties"]) == fields, name
        required = set(op.path_params)
        for model in (op.query, op.body):
            if model is not None:
                required |= {n for n, f in model.model_fields.items() if f.is_required()}
        assert set(tool["input_schema"]["required"]) == required, name
        hints = op.hints()
        assert tool["annotations"]["read_only_hint"] is hints["readOnlyHint"] is op.read_only
        assert tool["annotations"]["destructive_hint"] is hints["destructiveHint"]
        assert tool["annotations"]["idempotent_hint"] is hints["idempotentHint"]
    assert tools.describe(REGISTRY["playspecs.delete"])["annotations"]["destructive_hint"]
    assert tools.describe(REGISTRY["playspecs.list"])["annotations"]["read_only_hint"]


@pytest.mark.parametrize(
    "narrowing",
    [
        Narrowing(read_only=True),
        Narrowing(toolsets=frozenset({"webhooks"})),
        Narrowing(read_only=True, toolsets=frozenset({"playspecs", "secrets"})),
    ],
)
def test_narrowing_only_removes(narrowing, user):
    key, _ = api_key_make(user, "mcp:access", "playspecs:read", "webhooks:manage")
    caller = Caller.for_key(key)
    wide = {t["name"] for t in tools.tools_for(caller, Narrowing())}
    narrow = {t["name"] for t in tools.tools_for(caller, narrowing)}
    assert narrow < wide and "whoami" in narrow
    assert "secrets_list" not in narrow  # a toolset cannot add what the key lacks


def _post(token, body, path="/mcp", **extra):
    return Client().post(
        path,
        body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_ACCEPT="application/json, text/event-stream",
        **extra,
    )


LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


def test_door_refuses_bad_requests_with_clear_4xx(user):
    _, token = api_key_make(user, "mcp:access", "playspecs:read")
    answer = _post(token, LIST, path="/mcp?toolsets=playspecs,nope")
    assert answer.status_code == 400 and answer.json()["code"] == "unknown_toolset"
    assert _post(token, "{not json").status_code == 400
    assert _post(token, '{"a": 1, "a": 2}').status_code == 400
    assert _post(token, "").status_code == 400
    deep = "[" * 100 + "]" * 100
    assert _post(token, deep).status_code == 400
    assert Client().get("/mcp").status_code == 405
    assert Client().delete("/mcp").status_code == 405
    answer = Client().post("/mcp", json.dumps(LIST), content_type="application/json")
    assert answer.status_code == 401 and "Bearer" in answer["WWW-Authenticate"]


def test_bad_arguments_are_tool_errors_naming_the_field(user):
    _, token = api_key_make(user, "mcp:access", "playspecs:manage")
    cases = [
        ("playspecs_get", {"id": "abc"}, "id"),
        ("playspecs_get", {}, "id"),
        ("playspecs_list", {"limit": 0}, "limit"),
        ("playspecs_create", {"config": {}}, "name"),
        ("whoami", {"surprise": 1}, "surprise"),
    ]
    for name, arguments, field in cases:
        call = {"name": name, "arguments": arguments}
        answer = _post(token, {**LIST, "method": "tools/call", "params": call})
        result = answer.json()["result"]
        assert result["isError"], (name, result)
        body = result["structuredContent"]
        assert body["status"] == 422 and body["code"] == "invalid", body
        assert body["errors"][0]["field"] == field, body
    unknown = {"name": "drop_everything", "arguments": {}}
    result = _post(token, {**LIST, "method": "tools/call", "params": unknown}).json()["result"]
    assert result["isError"] and result["structuredContent"]["code"] == "unknown_tool"
