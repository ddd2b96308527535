"""The MCP server as a client sees it: the official SDK client against the project under
gunicorn on a free port (real PostgreSQL, private Redis)."""

import pytest
import requests

from fibe_access.accounts.actor import Actor, Source
from fibe_access.resources.models import Playground, Playspec, ResourceChange
from keys import services as key_services
from tests.support.factories import UserFactory, api_key_make, resource_make

from . import client

pytestmark = pytest.mark.django_db(transaction=True)


def _post(url, token, body=None):
    headers = {"Accept": "application/json, text/event-stream"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = body or {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    return requests.post(url, json=body, headers=headers, timeout=30)


def test_tool_list_follows_each_keys_scopes(site, user):
    _, reader = api_key_make(user, "mcp:access", "playspecs:read")
    _, manager = api_key_make(user, "mcp:access", "webhooks:manage")
    _, launcher = api_key_make(user, "mcp:access", "launch:write")

    assert set(client.tools(site, reader)) == {
        "playspecs_list",
        "playspecs_get",
        "whoami",
        "me_activity",
    }
    webhooks = client.tools(site, manager)
    assert {n for n in webhooks if n not in {"whoami", "me_activity"}} == {
        "webhooks_list",
        "webhooks_create",
        "webhooks_get",
        "webhooks_update",
        "webhooks_delete",
        "webhooks_deliveries",
        "webhooks_test",
        "webhooks_recover",
        "webhooks_redeliver",
        "webhooks_event_types",
        "webhooks_listen",
        "webhooks_listen_events",
        "webhooks_listen_end",
        "webhooks_listen_report",
        "webhooks_trigger",
    }
    assert webhooks["webhooks_delete"].annotations.destructive_hint is True
    assert webhooks["webhooks_list"].annotations.read_only_hint is True
    assert set(client.tools(site, launcher)) == {"playspecs_launch", "whoami", "me_activity"}


def test_narrowing_only_removes_tools(site, user):
    _, token = api_key_make(user, "mcp:access", "playspecs:manage", "webhooks:read")

    readonly = client.tools(site.replace("/mcp", "/mcp/readonly"), token)
    assert set(readonly) == {
        "playspecs_list",
        "playspecs_get",
        "webhooks_list",
        "webhooks_get",
        "webhooks_deliveries",
        "webhooks_event_types",
        "webhooks_listen_events",
        "whoami",
        "me_activity",
    }
    only_hooks = client.tools(site + "?toolsets=webhooks,playrooms", token)
    listening = {"webhooks_event_types", "webhooks_listen", "webhooks_listen_events"}
    listening |= {"webhooks_listen_end", "webhooks_listen_report"}
    assert (
        set(only_hooks)
        == {
            "webhooks_list",
            "webhooks_get",
            "webhooks_deliveries",
            "whoami",
        }
        | listening
    )
    by_header = client.tools(site, token, headers={"X-MCP-Readonly": "1"})
    assert set(by_header) == set(readonly)
    # a narrowed-out tool cannot be called either
    spec = resource_make(Playspec, user)
    is_error, answer = client.call(
        site + "?toolsets=webhooks", token, "playspecs_get", {"id": spec.pk}
    )
    assert is_error and answer["code"] == "unknown_tool"


def test_ci_example_launch_key_restricted_to_one_playspec(site, user):
    mine = resource_make(Playspec, user, config={"image": "python:3.11"})
    other = resource_make(Playspec, user, config={"image": "python:3.11"})
    _, token = api_key_make(
        user, "mcp:access", "launch:write", restrictions={"playspecs": [mine.pk]}
    )

    assert "playspecs_list" not in client.tools(site, token)
    is_error, answer = client.call(site, token, "playspecs_launch", {"id": mine.pk, "name": "ci"})
    assert not is_error, answer
    assert Playground.objects.get(pk=answer["id"]).playspec_id == mine.pk
    is_error, answer = client.call(site, token, "playspecs_launch", {"id": other.pk})
    assert is_error and answer == {"status": 404, "code": "not_found", "message": "Not found."}
    is_error, answer = client.call(site, token, "playspecs_get", {"id": mine.pk})
    assert is_error and answer["status"] == 403 and "playspecs:read" in answer["message"]
    # the write is audited with its source
    change = ResourceChange.objects.get(object_id=Playground.objects.get().pk, action="launch")
    assert change.source == Source.MCP


def test_other_accounts_ids_are_not_found(site, user):
    stranger = UserFactory()
    theirs = resource_make(Playspec, stranger)
    _, token = api_key_make(user, "mcp:access", "playspecs:manage")
    for name in ("playspecs_get", "playspecs_update", "playspecs_delete", "playspecs_launch"):
        is_error, answer = client.call(site, token, name, {"id": theirs.pk})
        assert is_error and answer["code"] == "not_found", name
    assert Playspec.objects.filter(pk=theirs.pk).exists()


def test_write_through_mcp_is_audited_with_source_mcp(site, user):
    key, token = api_key_make(user, "mcp:access", "playspecs:write")
    is_error, answer = client.call(
        site, token, "playspecs_create", {"name": "from an agent", "config": {"image": "x"}}
    )
    assert not is_error, answer
    change = ResourceChange.objects.get(object_id=answer["id"], action="create")
    assert (change.source, change.api_key_id) == (Source.MCP, key.pk)


def test_no_key_wrong_scope_expired_and_rotated_keys(site, user):
    actor = Actor(user=None, source=Source.CLI)
    answer = _post(site, None)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    _, no_mcp = api_key_make(user, "playspecs:read")
    answer = _post(site, no_mcp)
    assert answer.status_code == 403 and "mcp:access" in answer.json()["message"]

    expiring, token = api_key_make(user, "mcp:access", "playspecs:read")
    assert "whoami" in client.tools(site, token)
    key_services.key_expire_now(actor=actor, key=expiring)
    assert _post(site, token).status_code == 401

    rotating, old = api_key_make(user, "mcp:access", "playspecs:read")
    _, new = key_services.key_rotate(actor=actor, key=rotating)
    assert _post(site, old).status_code == 401
    assert "whoami" in client.tools(site, new)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the SDK surfaces the 401 its own way
        client.tools(site, old)


def test_rate_limit_applies(site, user):
    _, token = api_key_make(user, "mcp:access", "playspecs:read", rate_limit_per_minute=3)
    answers = [_post(site, token) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert answers[3].status_code == 429 and answers[3].json()["code"] == "rate_limited"
    assert answers[0].headers["X-RateLimit-Limit"] == "3"


def test_get_is_405(site, user):
    _, token = api_key_make(user, "mcp:access")
    answer = requests.get(site, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 405 and answer.headers["Allow"] == "POST"
