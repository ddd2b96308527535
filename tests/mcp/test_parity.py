"""Parity over the whole scope matrix: for every operation × every scope, the MCP tool (a
JSON-RPC tools/call to /mcp, in process) and the REST operation give the same answer class
(allow / 403 / 404): on the key's own record, on another account's record, and outside a
restriction. And tools/list offers a tool exactly when its REST operation is allowed."""

import json

import pytest
from django.test import Client

from fibe_access.mcp import tools
from keys import scopes
from tests.keys.payloads import OPERATIONS, QUERY, body_for, request, target_for
from tests.support.factories import UserFactory, api_key_make

SCOPES = sorted(s for s in scopes.CATALOGUE if s != "mcp:access")


def mcp(token: str, method: str, params: dict) -> dict:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    answer = Client().post(
        "/mcp",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_ACCEPT="application/json, text/event-stream",
    )
    assert answer.status_code == 200, answer.content
    return answer.json()["result"]


def mcp_status(token: str, op, obj) -> int:
    arguments = {name: obj.pk for name in op.path_params}
    arguments |= body_for(op) or {}
    arguments |= QUERY.get(op.name, {})
    result = mcp(token, "tools/call", {"name": tools.tool_name(op), "arguments": arguments})
    return result["structuredContent"]["status"] if result["isError"] else op.status


def answer_class(status: int) -> str:
    return "allow" if status < 300 else str(status)


def _compare(token, client, op, make_target):
    rest = request(client, op, make_target()).status_code
    via_mcp = mcp_status(token, op, make_target())
    assert answer_class(via_mcp) == answer_class(rest), (op.name, rest, via_mcp)
    return answer_class(rest)


@pytest.mark.parametrize("scope", SCOPES)
def test_mcp_and_rest_agree_for_every_operation(scope, user, api_client):
    stranger = UserFactory()
    key, token = api_key_make(user, "mcp:access", scope, rate_limit_per_minute=100_000)
    client = api_client(token)
    listed = {t["name"] for t in mcp(token, "tools/list", {})["tools"]}
    for op in OPERATIONS:
        own = _compare(token, client, op, lambda op=op: target_for(op, user))
        assert (tools.tool_name(op) in listed) == (own == "allow"), (op.name, own)
        if op.path_params:
            foreign = _compare(token, client, op, lambda op=op: target_for(op, stranger))
            assert foreign in ("403", "404"), (op.name, foreign)


@pytest.mark.parametrize("scope", [f"{f}:manage" for f in scopes.FAMILIES] + ["launch:write"])
def test_mcp_and_rest_agree_outside_a_restriction(scope, user, api_client):
    family = scopes.CATALOGUE[scope].family
    allowed_op = next(
        op
        for op in OPERATIONS
        if op.family == family and op.path_params and op.path_params != ("session_id",)
    )
    kept = target_for(allowed_op, user)
    _, token = api_key_make(
        user,
        "mcp:access",
        scope,
        restrictions={family: [kept.pk]},
        rate_limit_per_minute=100_000,
    )
    client = api_client(token)
    listed = {t["name"] for t in mcp(token, "tools/list", {})["tools"]}
    for op in OPERATIONS:
        outside = _compare(token, client, op, lambda op=op: target_for(op, user))
        if op.family == family and op.path_params and op.restriction == "item":
            assert outside in ("403", "404"), op.name
        if op.creates and family in op.creates:
            assert outside == "403" and tools.tool_name(op) not in listed, op.name
