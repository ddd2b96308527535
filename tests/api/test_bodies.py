"""Actions without a body, as a CI script sends them (`curl -X POST -H "Authorization: …"`),
and 422s that always name the field to fix. Both walk the whole registry."""

import http.client
import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from fibe_access.api.operations import REGISTRY
from fibe_access.resources.models import Playground
from keys import scopes
from tests.keys.payloads import body_for, path_for, target_for
from tests.support.factories import api_key_make

EVERYTHING = [*(f"{family}:manage" for family in scopes.FAMILIES), "launch:write"]
BODYLESS = [
    op
    for op in REGISTRY.values()
    if op.method in ("POST", "PATCH") and (op.body is None or op.body_optional)
]
FIELDS = {"playspecs.launch": lambda: {"name": "ci run", "expires_at": _tomorrow()}}


def _tomorrow() -> str:
    return (timezone.now() + timedelta(days=1)).isoformat()


def send(base_url: str, method: str, path: str, token: str, body: bytes | None = None):
    """One request with exactly these headers: no body means no Content-Type and no
    Content-Length, as `curl -X POST` sends."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest(method, path)
        conn.putheader("Authorization", f"Bearer {token}")
        if body is not None:
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_every_action_whose_body_is_optional_takes_no_body_an_empty_object_or_the_fields(
    live_server, transactional_db, user
):
    # given a key that may call every operation
    _, token = api_key_make(user, *EVERYTHING, rate_limit_per_minute=100_000)
    assert len(BODYLESS) >= 17  # launch, 3 playground actions, 12 updates, test, redeliver
    for op in BODYLESS:
        bodies = {"no body": None, "{}": b"{}"}
        if op.body is not None:
            fields = FIELDS.get(op.name, lambda op=op: body_for(op))()
            bodies["the fields"] = json.dumps(fields).encode()
        for label, body in bodies.items():
            # when it is called on a fresh record, with no body, with {} or with the fields
            launched = Playground.objects.count()
            status, content = send(
                live_server.url, op.method, path_for(op, target_for(op, user)), token, body
            )
            # then it succeeds as documented
            assert status == op.status, (op.name, label, content)
            if op.name == "playspecs.launch":
                assert Playground.objects.count() == launched + 1
                assert (json.loads(content)["name"] == "ci run") == (label == "the fields")


def _bad_inputs(op):
    """(where, field, request kwargs) for every input of the operation, each made invalid."""
    if op.path_params:
        yield "path", op.path_params[0], [{"path": {op.path_params[0]: "abc"}}]
    for name in op.query.model_fields if op.query else ():
        yield "query", name, [{"query": {name: bad}} for bad in ("abc", "x" * 300)]
    valid = body_for(op) or {}
    for name in op.body.model_fields if op.body else ():
        yield "body", name, [{"body": json.dumps({**valid, name: bad})} for bad in ({"x": 1}, [1])]
    if op.body is not None:
        yield "body", "body", [{"body": raw} for raw in ("[]", "null", '"text"', "1")]


def test_every_422_the_api_answers_names_a_field(user, client):
    # given a key that may call every operation, and a record for each
    _, token = api_key_make(user, *EVERYTHING, rate_limit_per_minute=100_000)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    seen = 0
    for op in REGISTRY.values():
        target = target_for(op, user)
        for where, field, attempts in _bad_inputs(op):
            named = False
            for attempt in attempts:
                # when the input is invalid
                path = path_for(op, target)
                if "path" in attempt:
                    path = "/api/v1" + op.path.format(**attempt["path"])
                kwargs = {"data": attempt.get("query", {})}
                if op.body is not None:
                    body = attempt.get("body", json.dumps(body_for(op)))
                    kwargs = {"data": body, "content_type": "application/json"}
                response = getattr(client, op.method.lower())(path, **kwargs, **headers)
                if response.status_code != 422:
                    continue
                # then every 422 names each field it is about, first in its message
                error = response.json()
                fields = [e["field"] for e in error["errors"]]
                assert fields and all(fields), (op.name, attempt, error)
                assert error["message"].startswith(f"{fields[0]}: "), (op.name, error)
                named |= field in fields
                seen += 1
            assert named, f"{op.name}: no invalid {where} value named {field!r}"
    assert seen > 150


@pytest.mark.parametrize(
    "op",
    [op for op in REGISTRY.values() if op.body and not op.body_optional],
    ids=lambda op: op.name,
)
def test_a_missing_required_body_names_its_required_fields(op, user, client):
    _, token = api_key_make(user, *EVERYTHING)
    response = client.generic(
        op.method, path_for(op, target_for(op, user)), HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 422
    required = {n for n, f in op.body.model_fields.items() if f.is_required()}
    assert {e["field"] for e in response.json()["errors"]} == required
