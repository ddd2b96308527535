"""Hostile JSON is a clear 4xx with the API's {"code", "message"}, never a 500 or a recursion
error, the same through REST and through ``invoke`` (MCP), and it changes nothing: bodies
nested 10^2..10^5 deep, wide, larger than the bound, with NUL in keys, huge numbers or a key
given twice."""

import json

import pytest

from fibe_access.accounts.actor import Source
from fibe_access.api import bodies
from fibe_access.api.caller import Caller
from fibe_access.api.invoke import invoke
from fibe_access.api.operations import REGISTRY
from fibe_access.resources.models import Playspec
from fibe_access.resources.registry import FAMILIES
from keys import scopes
from tests.keys.payloads import body_for, path_for, target_for
from tests.support.factories import api_key_make
from webhooks.models import WebhookEndpoint

DEEP = bodies.TOO_DEEP.format(what="body", depth=bodies.MAX_DEPTH)
WITH_BODY = [op for op in REGISTRY.values() if op.body is not None]


def nested(depth: int, leaf=None, kind=list):
    """``depth`` containers one inside the other (an array of arrays, or objects)."""
    value = [] if leaf is None else leaf
    for _ in range(depth):
        value = [value] if kind is list else {"a": value}
    return value


def nested_text(depth: int, kind=list) -> str:
    """The same as JSON text, without building it in Python (no recursion to encode it)."""
    if kind is list:
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "0" + "}" * depth


@pytest.fixture
def key(user):
    return api_key_make(user, *scopes.CATALOGUE, rate_limit_per_minute=1_000_000)


@pytest.fixture
def rest(key, api_client):
    client = api_client(key[1])

    def send(op, text: str | bytes, obj=None):
        method = getattr(client, op.method.lower())
        response = method(path_for(op, obj), text, content_type="application/json")
        return response.status_code, response.json()

    return send


@pytest.fixture
def mcp(key):
    caller = Caller.for_key(key[0], source=Source.MCP)

    def call(op, body, obj=None):
        return invoke(op, caller, path={p: obj.pk for p in op.path_params}, body=body)

    return call


def state():
    rows = {name: fam.model.objects.count() for name, fam in FAMILIES.items()}
    return rows | {"webhooks": list(WebhookEndpoint.objects.values())}


@pytest.mark.parametrize("depth", [bodies.MAX_DEPTH + 1, 100, 1_000, 10_000, 100_000])
@pytest.mark.parametrize("kind", [list, dict], ids=["arrays", "objects"])
def test_a_body_nested_too_deep_is_a_400_through_rest_and_invoke(depth, kind, rest, mcp):
    create = REGISTRY["playspecs.create"]
    # given a playspec whose config nests `depth` levels
    text = '{"name": "deep", "config": {"x": ' + nested_text(depth, kind) + "}}"
    # when it is sent, then both faces answer the same 400 and nothing is stored
    expected = (400, {"code": "bad_request", "message": DEEP})
    assert rest(create, text) == expected
    assert mcp(create, {"name": "deep", "config": {"x": nested(depth, kind=kind)}}) == expected
    assert not Playspec.objects.exists()


def test_the_deepest_body_allowed_is_stored_and_answered_whole(rest, mcp):
    create = REGISTRY["playspecs.create"]
    # the body is level 1, config level 2, and x's array levels 3 to MAX_DEPTH
    config = {"x": nested(bodies.MAX_DEPTH - 3, leaf=[1])}
    status, answer = rest(create, json.dumps({"name": "ok", "config": config}))
    assert status == 201 and answer["config"] == config
    status, answer = mcp(create, {"name": "ok", "config": config})
    assert status == 201 and answer["config"] == config
    one_more = {"name": "no", "config": {"x": [config["x"]]}}
    assert rest(create, json.dumps(one_more)) == mcp(create, one_more) == (400, DEEP_ANSWER)
    assert Playspec.objects.count() == 2


DEEP_ANSWER = {"code": "bad_request", "message": DEEP}


@pytest.mark.parametrize("op", WITH_BODY, ids=lambda op: op.name)
def test_every_operation_with_a_body_refuses_a_deep_one_and_changes_nothing(op, user, rest, mcp):
    # given a record the operation can act on, and its valid body made deep
    obj = target_for(op, user)
    body = {**body_for(op), "deep": nested(100_000)}
    before = state()
    # then REST (100 000 levels of text) and invoke answer the same 400
    text = json.dumps({**body_for(op), "deep": 0})[:-1] + ', "deep": ' + nested_text(100_000)
    assert rest(op, text + "}", obj) == (400, DEEP_ANSWER), op.name
    assert mcp(op, body, obj) == (400, DEEP_ANSWER), op.name
    assert state() == before


HUGE, HUGE_TEXT = 10**4300, "1" + "0" * 4300  # 4301 digits: one more than Python reads
WIDE_ARRAY = {"name": "w", "config": {"a": [0] * (bodies.MAX_VALUES + 1)}}
WIDE_OBJECT = {"name": "w", "config": {f"k{i}": i for i in range(bodies.MAX_VALUES)}}
WIDE = [
    (json.dumps(WIDE_ARRAY), WIDE_ARRAY, "more than 10000 values"),
    (json.dumps(WIDE_OBJECT), WIDE_OBJECT, "more than 10000 values"),
    (
        '{"name": "n", "config": {"a": ' + HUGE_TEXT + "}}",
        {"name": "n", "config": {"a": HUGE}},
        "a number of more than 4300 digits",
    ),
    (
        '{"name": "n", "config": {"a": [-' + HUGE_TEXT + "]}}",
        {"name": "n", "config": {"a": [-HUGE]}},
        "a number of more than 4300 digits",
    ),
]


@pytest.mark.parametrize(
    "text, body, message", WIDE, ids=["wide array", "wide object", "huge number", "negative"]
)
def test_wide_bodies_and_huge_numbers_are_a_400_through_rest_and_invoke(
    text, body, message, rest, mcp
):
    create = REGISTRY["playspecs.create"]
    status, answer = rest(create, text)
    assert status == 400 and answer["code"] == "bad_request" and message in answer["message"]
    assert mcp(create, body) == (status, answer)
    assert not Playspec.objects.exists()


def test_the_largest_number_python_reads_is_stored_exactly(rest, mcp):
    create = REGISTRY["playspecs.create"]
    number = 10**4300 - 1  # 4300 digits
    status, answer = rest(create, json.dumps({"name": "n", "config": {"a": number}}))
    assert status == 201 and answer["config"]["a"] == number
    assert mcp(create, {"name": "n", "config": {"a": -number}})[1]["config"]["a"] == -number
    status, answer = rest(create, '{"name": "n", "config": {"a": 1e400}}')
    assert (status, answer["errors"][0]["field"]) == (422, "config")  # Infinity


@pytest.mark.parametrize(
    "size",
    [bodies.MAX_BYTES + 1, bodies.MAX_TEXT_BYTES + 1],
    ids=["past the bound on characters", "past the bound on JSON text"],
)
def test_a_body_larger_than_the_bound_is_a_413(size, rest, mcp):
    create = REGISTRY["playspecs.create"]
    description = "x" * size
    text = json.dumps({"name": "big", "config": {"d": description}})
    expected = (413, {"code": "too_large", "message": bodies.TOO_LARGE})
    assert rest(create, text) == expected
    assert mcp(create, {"name": "big", "config": {"d": description}}) == expected
    assert not Playspec.objects.exists()


@pytest.mark.parametrize(
    "text, field",
    [
        ('{"name": "n", "config": {"a\\u0000b": 1}}', "config"),
        ('{"name": "n", "config": {"\\u0000": {"\\u0000": 1}}}', "config"),
        ('{"na\\u0000me": "n"}', "name"),
    ],
)
def test_nul_in_keys_is_a_422_naming_the_field_through_rest_and_invoke(text, field, rest, mcp):
    create = REGISTRY["playspecs.create"]
    status, answer = rest(create, text)
    assert status == 422 and answer["errors"][0]["field"] == field
    assert mcp(create, json.loads(text)) == (status, answer)
    assert not Playspec.objects.exists()


@pytest.mark.parametrize(
    "text, repeated",
    [
        ('{"name": "a", "name": "b"}', '"name"'),
        ('{"name": "a", "config": {"k": 1, "k": 2}}', '"k"'),
        ('{"name": "a", "config": {"\\u0000": 1, "\\u0000": 2}}', '"\\u0000"'),
    ],
)
def test_a_key_given_twice_is_a_400_naming_it(text, repeated, rest):
    status, answer = rest(REGISTRY["playspecs.create"], text)
    assert (status, answer) == (
        400,
        {"code": "bad_request", "message": f"The body gives the key {repeated} twice."},
    )
    assert not Playspec.objects.exists()


@pytest.mark.parametrize(
    "raw", [b"\xff\xfe{}", b'{"name": "\xff"}', b"{", b"[" * 5000, b'"just a string"']
)
def test_bytes_that_are_not_a_json_object_are_a_4xx_in_the_api_shape(raw, rest):
    status, answer = rest(REGISTRY["playspecs.create"], raw)
    assert status in (400, 422) and set(answer) >= {"code", "message"}
    assert not Playspec.objects.exists()


def test_openapi_documents_the_bounds_on_every_operation_with_a_body(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    for op in WITH_BODY:
        responses = schema["paths"]["/api/v1" + op.path][op.method.lower()]["responses"]
        assert f"deeper than {bodies.MAX_DEPTH} levels" in responses["400"]["description"]
        assert "413" in responses
