"""The MCP server when something goes wrong: an exception a tool did not expect answers a
generic internal error with an id (logged with that id), never the exception's text; a browser
Origin not in MCP_ALLOWED_ORIGINS is refused with 403 before anything else. The official SDK
client and plain requests against the project under gunicorn."""

import re

import pytest
import requests
from django.db import connection

from tests.support.factories import api_key_make

from . import client
from .conftest import ALLOWED_ORIGIN

pytestmark = pytest.mark.django_db(transaction=True)
SECRET_DETAIL = "constraint playspec_budget_7731 violated by tenant 42"


@pytest.fixture
def failing_inserts():
    """A database that fails every new playspec with a detailed message (as a constraint
    or a bug would), removed afterwards."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION fibe_test_fail() RETURNS trigger AS $$ BEGIN "
            f"RAISE EXCEPTION '{SECRET_DETAIL}'; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER fibe_test_fail BEFORE INSERT ON resources_playspec "
            "FOR EACH ROW EXECUTE FUNCTION fibe_test_fail()"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER fibe_test_fail ON resources_playspec")
        cursor.execute("DROP FUNCTION fibe_test_fail()")


def test_an_unexpected_error_in_a_tool_answers_a_generic_message_with_an_id(
    site, user, mcp_server, failing_inserts
):
    # given a tool whose service fails with a database error
    _, token = api_key_make(user, "mcp:access", "playspecs:write")
    # when the official client calls it
    is_error, answer = client.call(
        site, token, "playspecs_create", {"name": "x", "config": {"image": "x"}}
    )
    # then it is a tool error saying nothing of the cause, with an id the log has too
    assert is_error
    assert answer["status"] == 500 and answer["code"] == "internal_error"
    assert SECRET_DETAIL not in str(answer) and "playspec_budget" not in str(answer)
    error_id = re.search(r"error id ([0-9a-f]{16})", answer["message"])[1]
    log = mcp_server.log.read_text()
    assert f"error id {error_id}" in log and SECRET_DETAIL in log


def post(site: str, token: str | None, **headers) -> requests.Response:
    sent = {"Accept": "application/json, text/event-stream", **headers}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    return requests.post(site, json=body, headers=sent, timeout=30)


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", "http://127.0.0.1", ALLOWED_ORIGIN + ".evil"]
)
def test_a_browser_origin_not_listed_is_refused_with_403(site, user, origin):
    _, token = api_key_make(user, "mcp:access", "playspecs:read")
    answer = post(site, token, Origin=origin)
    assert answer.status_code == 403 and answer.json()["code"] == "origin_not_allowed"
    # before authentication: a page cannot even learn whether a key is good
    assert post(site, None, Origin=origin).status_code == 403


def test_the_sdk_client_from_an_unlisted_origin_gets_nothing(site, user):
    _, token = api_key_make(user, "mcp:access", "playspecs:read")
    with pytest.raises(Exception):  # noqa: B017, PT011 - the SDK surfaces the 403 its own way
        client.tools(site, token, headers={"Origin": "https://evil.example"})


def test_a_listed_origin_and_no_origin_are_served(site, user):
    _, token = api_key_make(user, "mcp:access", "playspecs:read")
    assert "whoami" in client.tools(site, token, headers={"Origin": ALLOWED_ORIGIN})
    assert "whoami" in client.tools(site, token)
    assert post(site, token, Origin=ALLOWED_ORIGIN.upper()).status_code == 200
