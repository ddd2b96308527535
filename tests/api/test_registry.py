"""The operation registry is the one source of the API: what OpenAPI documents, what REST
mounts, and what the MCP tools and CLI commands will be generated from."""

from fibe_access.api import operations
from fibe_access.api.operations import REGISTRY
from fibe_access.api.pagination import PageIn
from fibe_access.resources.registry import FAMILIES
from keys import scopes

CRUD = ("list", "create", "get", "update", "delete")


def test_openapi_documents_exactly_the_registry(client, db):
    # given the published schema
    schema = client.get("/api/v1/openapi.json").json()
    documented = {(m.upper(), path) for path, ops in schema["paths"].items() for m in ops}
    # then it holds every registered operation and nothing else
    assert documented == {(op.method, "/api/v1" + op.path) for op in REGISTRY.values()}
    # and each entry says what the registry says
    for op in REGISTRY.values():
        entry = schema["paths"]["/api/v1" + op.path][op.method.lower()]
        assert entry["operationId"] == op.operation_id
        assert entry["summary"] == op.summary
        assert entry["description"] == op.description
        assert entry["tags"] == [op.group]
        assert str(op.status) in entry["responses"]
        assert [p["name"] for p in entry.get("parameters", []) if p["in"] == "path"] == list(
            op.path_params
        )
        assert ("requestBody" in entry) == (op.body is not None)


def test_every_operation_has_a_stable_unique_name():
    expected = {f"{family}.{action}" for family in FAMILIES for action in CRUD}
    expected |= {"playspecs.launch", "me", "me.activity"}
    expected |= {f"playgrounds.{a}" for a in ("start", "stop", "extend", "recreate")}
    expected |= {f"webhooks.{a}" for a in (*CRUD, "deliveries", "test", "recover", "redeliver")}
    expected |= {
        f"webhooks.{a}"
        for a in ("event_types", "listen", "listen_events", "listen_report", "listen_end")
    }
    expected |= {"webhooks.trigger"}
    expected |= {f"repos.{a}" for a in ("push", "files", "file", "commits")}
    assert set(REGISTRY) == expected
    for op in REGISTRY.values():
        assert op.name == (f"{op.group}.{op.action}" if op.name != "me" else "me")
    assert len({op.operation_id for op in REGISTRY.values()}) == len(REGISTRY)


def test_every_description_names_the_scope_its_alternatives_and_the_restriction():
    for op in REGISTRY.values():
        if op.scope is None:
            assert "no scope needed" in op.description
            assert op.family is None and op.restriction is None
            continue
        assert op.scope in scopes.CATALOGUE
        assert f"Requires scope `{op.scope}`" in op.description
        for alternative in scopes.ALSO_SATISFIED_BY.get(op.scope, ()):
            assert f"`{alternative}`" in op.description
        assert op.family == scopes.requirement_family(op.scope)
        assert f"honours restrictions on `{op.family}`" in op.description
    launch = REGISTRY["playspecs.launch"]
    assert (launch.scope, launch.family) == ("launch:write", "playspecs")
    assert "`playspecs:write`" in launch.description


def test_kinds_and_hints_follow_what_each_operation_does():
    for op in REGISTRY.values():
        hints = op.hints()
        assert hints["readOnlyHint"] == (op.method == "GET") == (op.kind == operations.READ)
        if op.method == "DELETE":
            assert op.kind == operations.DELETE and hints["destructiveHint"]
            assert hints["idempotentHint"]
        if op.action == "create":
            assert not hints["idempotentHint"] and not hints["destructiveHint"]
    assert REGISTRY["playspecs.launch"].hints()["idempotentHint"] is False
    # a person approves every destructive call of a "Confirm destructive actions" key, except
    # ending one's own listen session (it loses nothing)
    exempt = {op.name for op in REGISTRY.values() if op.destructive and not op.approval}
    assert exempt == {"webhooks.listen_end"}
    assert not any(op.approval and not op.destructive for op in REGISTRY.values())
    assert REGISTRY["webhooks.test"].hints()["idempotentHint"] is False


def test_inputs_are_described_for_the_faces_that_are_generated():
    launch = REGISTRY["playspecs.launch"]
    assert launch.path_params == ("id",)
    assert launch.body is not None and launch.body_optional
    assert REGISTRY["playgrounds.extend"].body_optional is False
    assert REGISTRY["playspecs.create"].body_optional is False
    assert REGISTRY["playspecs.list"].query is PageIn
    assert REGISTRY["webhooks.deliveries"].path_params == ("endpoint_id",)
    assert set(REGISTRY["webhooks.deliveries"].query.model_fields) >= {"event", "status"}
    assert (
        REGISTRY["webhooks.delete"].response is None and REGISTRY["webhooks.delete"].status == 204
    )
