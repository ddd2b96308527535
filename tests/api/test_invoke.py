"""``invoke`` runs an operation without an HttpRequest (what the MCP server calls) and answers
exactly as REST does, through the same scope and restriction checks."""

import pytest

from fibe_access.accounts.actor import Source
from fibe_access.api import run
from fibe_access.api.caller import Caller
from fibe_access.api.invoke import invoke
from fibe_access.api.operations import REGISTRY
from fibe_access.resources.models import Playground, Playspec, Secret
from keys import scopes
from tests.keys.payloads import path_for
from tests.support.factories import api_key_make, resource_make
from webhooks.models import WebhookEndpoint

EVERYTHING = [f"{family}:manage" for family in scopes.FAMILIES]


def rest(client, op, path: dict, query: dict | None = None, body=None):
    url = "/api/v1" + op.path.format(**path)
    method = getattr(client, op.method.lower())
    if body is None:
        response = method(url, query or {})
    else:
        response = method(url, body, content_type="application/json")
    return response.status_code, (response.json() if response.content else None)


@pytest.fixture
def world(user, api_client):
    key, token = api_key_make(user, *EVERYTHING, rate_limit_per_minute=100_000)
    spec = resource_make(Playspec, user, config={"image": "python:3.11"})
    endpoint = WebhookEndpoint.objects.create(
        owner=user, url="http://127.0.0.1:9/h", events=["playground.created"], secret="s"
    )
    return {
        "caller": Caller.for_key(key, source=Source.MCP),
        "client": api_client(token),
        "spec": spec,
        "endpoint": endpoint,
    }


def test_reads_and_errors_answer_exactly_as_rest(world, user):
    spec, endpoint = world["spec"], world["endpoint"]
    resource_make(Secret, user, value="never shown")
    cases = [
        ("me", {}, {}),
        ("playspecs.list", {}, {"limit": 5}),
        ("secrets.list", {}, {}),
        ("playspecs.get", {"id": spec.pk}, {}),
        ("webhooks.get", {"endpoint_id": endpoint.pk}, {}),
        ("webhooks.deliveries", {"endpoint_id": endpoint.pk}, {"status": "failed"}),
        ("playspecs.get", {"id": 987654321}, {}),  # 404
        ("playspecs.list", {}, {"limit": 0}),  # 422 naming limit
        ("webhooks.deliveries", {"endpoint_id": endpoint.pk}, {"status": "lost"}),  # 422
    ]
    for name, path, query in cases:
        op = REGISTRY[name]
        assert invoke(op, world["caller"], path=path, query=query) == rest(
            world["client"], op, path, {k: str(v) for k, v in query.items()}
        ), name


def test_bad_inputs_are_a_422_naming_the_field_as_rest(world):
    spec = world["spec"]
    cases = [
        ("playspecs.create", {}, {"name": "x" * 201}),
        ("playspecs.create", {}, {"name": "ok", "config": "not an object"}),  # model validation
        ("playspecs.launch", {"id": spec.pk}, {"expires_at": "yesterday"}),
        ("webhooks.create", {}, {"url": "http://127.0.0.1:9/h", "events": ["nope"]}),
    ]
    for name, path, body in cases:
        op = REGISTRY[name]
        status, answer = invoke(op, world["caller"], path=path, body=body)
        assert (status, answer) == rest(world["client"], op, path, body=body), name
        assert status == 422 and answer["errors"][0]["field"], name
    status, answer = invoke("playspecs.get", world["caller"], path={"id": "abc"})
    assert status == 422 and answer["errors"] == [
        {
            "field": "id",
            "message": "Input should be a valid integer, unable to parse string as an integer",
        }
    ]
    assert Playspec.objects.count() == 1


def test_writes_answer_what_rest_then_reads_and_act_as_the_key(world, user):
    caller, client = world["caller"], world["client"]
    status, created = invoke(
        "playspecs.create", caller, body={"name": "from mcp", "config": {"a": [1, 2]}}
    )
    assert status == 201
    assert rest(client, REGISTRY["playspecs.get"], {"id": created["id"]}) == (200, created)
    status, launched = invoke("playspecs.launch", caller, path={"id": created["id"]})
    assert status == 201 and launched["status"] == "running"
    got = rest(client, REGISTRY["playgrounds.get"], {"id": launched["id"]})[1]
    assert {k: got[k] for k in launched} == launched
    assert Playground.objects.get(pk=launched["id"]).owner == user
    assert invoke("playgrounds.delete", caller, path={"id": launched["id"]}) == (204, None)


def test_scope_and_restriction_are_checked_as_for_rest(user, api_client):
    mine, other = resource_make(Playspec, user), resource_make(Playspec, user)
    key, token = api_key_make(user, "launch:write", restrictions={"playspecs": [mine.pk]})
    caller, client = Caller.for_key(key, source=Source.MCP), api_client(token)
    read, launch = REGISTRY["playspecs.get"], REGISTRY["playspecs.launch"]
    # a scope the key lacks: the same 403, naming it
    refused = invoke(read, caller, path={"id": mine.pk})
    assert refused == rest(client, read, {"id": mine.pk})
    assert refused[0] == 403 and "'playspecs:read'" in refused[1]["message"]
    # outside the restriction: the same 404, and nothing launched
    outside = invoke(launch, caller, path={"id": other.pk}, body={})
    assert (
        outside
        == rest(client, launch, {"id": other.pk}, body={})
        == (
            404,
            {"code": "not_found", "message": "Not found."},
        )
    )
    assert not Playground.objects.filter(playspec=other).exists()
    assert invoke(launch, caller, path={"id": mine.pk}, body={})[0] == 201


def test_rest_requests_run_through_the_same_run_as_invoke(world, monkeypatch):
    # given a spy on the one function every face goes through
    seen = []
    real_run = run.run

    def spy(op, caller, params):
        seen.append((op.name, caller.source))
        return real_run(op, caller, params)

    monkeypatch.setattr(run, "run", spy)
    # when REST and invoke call the same operation
    world["client"].get(path_for(REGISTRY["playspecs.get"], world["spec"]))
    invoke("playspecs.get", world["caller"], path={"id": world["spec"].pk})
    # then both went through it, each as itself
    assert seen == [("playspecs.get", Source.API), ("playspecs.get", Source.MCP)]


def test_concealment_answers_copies_and_leaves_the_records_alone(user):
    # given a playground launched from a playspec the key is not restricted to
    spec, listed = resource_make(Playspec, user), resource_make(Playspec, user)
    playground = resource_make(Playground, user, playspec=spec)
    key, _ = api_key_make(
        user, "playgrounds:read", "playspecs:read", restrictions={"playspecs": [listed.pk]}
    )
    caller, op = Caller.for_key(key), REGISTRY["playgrounds.get"]
    # when the answer is concealed, alone and in a page
    alone = run.conceal(op, caller, playground)
    page = run.conceal(REGISTRY["playgrounds.list"], caller, {"items": [playground], "count": 1})
    # then the answers do not name the playspec
    assert alone.playspec_id is None and page["items"][0].playspec_id is None
    # and the record the handler holds still does
    assert playground.playspec_id == spec.pk and alone is not playground
    assert page["items"][0] is not playground
