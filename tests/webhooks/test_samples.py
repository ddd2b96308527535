"""`fibe trigger --set`: which fields of an event's sample a body may change, and as what
text, is said by the schema (one branch per kind of event) and checked by the server alike."""

import jsonschema_rs
import pytest

from tests.support.factories import api_key_make
from webhooks.listen_api import TriggerIn

CASES = [
    ("playspec.deleted", {"data.name": "triggered"}, True),
    ("playground.error", {"status": "error", "data.playspec_id": "null"}, True),
    ("api_key.expiring", {"data.expires_in_days": "-3", "label": "CI"}, True),
    ("playground.created", {"id": "123456789012345678"}, True),
    ("api_key.expiring", {"id": "null", "data.id": "30"}, True),  # both names of one field
    # a field another kind of event has, or none has
    ("playroom.created", {"label": "x"}, False),
    ("api_key.expired", {"expires_in_days": "3"}, False),
    ("playspec.created", {"x-other": ""}, False),
    ("playspec.created", {"data.": ""}, False),
    # an integer's text is digits (Python's int() would read these; the schema does not)
    ("playground.created", {"id": "+5"}, False),
    ("playground.created", {"id": " 5"}, False),
    ("playground.created", {"id": "5\n"}, False),
    ("playground.created", {"id": "1_000"}, False),
    ("playground.created", {"id": "1234567890123456789"}, False),
    # no NUL in any text
    ("playroom.deleted", {"name": "a\x00b"}, False),
]


@pytest.fixture
def trigger(user, api_client):
    _, token = api_key_make(user, "webhooks:write")
    client = api_client(token)
    return lambda body: client.post("/api/v1/webhooks/trigger", body, "application/json")


@pytest.mark.parametrize(("event", "changes", "valid"), CASES)
def test_the_schema_and_the_server_agree_on_what_set_may_change(event, changes, valid, trigger):
    body = {"event": event, "set": changes}
    # the schema says it (read as JSON Schema reads a pattern, as ECMA does: `$` is the end)
    assert jsonschema_rs.validator_for(TriggerIn.model_json_schema()).is_valid(body) is valid
    # and the server does the same
    answer = trigger(body)
    assert answer.status_code == (202 if valid else 422), answer.content
    if not valid:
        assert answer.json()["errors"][0]["field"].split(".")[0] == "set"
