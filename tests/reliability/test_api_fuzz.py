"""The API fed whatever its own OpenAPI schema allows and much of what it does not:
schemathesis over /api/v1/openapi.json, in process through the WSGI app, with a valid key that
holds every scope, running every one of its checks: every answer a documented status with a
body matching its schema and never a 5xx; every schema-valid request accepted (or refused only
for a documented reason: 401/403/404/409/429); every schema-violating request refused; and,
walking the schema's links (create → read → update → action → delete), a deleted record gone.
What the API deliberately does differently is said in the schema, not exempted here: no string
or key nested anywhere in a Playspec's free-form ``config`` holds a NUL (one recursive
``JsonValue`` definition), a repository file's path matches its pattern, a webhook's host that
does not resolve yet is accepted.

Host names are resolved to a public documentation address: whether a webhook's host resolves
is the internet's business, not this machine's."""

import socket

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings

from keys import scopes
from tests.support.factories import UserFactory, api_key_make

MAX_EXAMPLES = 10  # per operation; ~80 operations keep the run within minutes
STATEFUL_EXAMPLES = 15  # scenarios, each at most STATEFUL_STEPS calls
STATEFUL_STEPS = 8
PUBLIC = "93.184.215.14"  # a public address; nothing is sent to it


@pytest.fixture
def api_schema(db, monkeypatch, all_scopes_token):
    # Like django.test.Client: the handler must not close the test's connection (it sits in a
    # transaction the test rolls back) at the end of each request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host in ("localhost", "127.0.0.1", "::1"):
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC, port or 443))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    # the key as the user's own credentials: every check knows it is meant to be valid
    loaded.config.update(headers={"Authorization": f"Bearer {all_scopes_token}"})
    # A body past the size bound is refused with 413, documented on every operation that takes
    # a body (fibe_access.api.site); JSON Schema cannot state that bound, so a schema-violating
    # body may meet it before its other faults: 413 refuses it as surely as a 422.
    rejection = loaded.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    yield loaded
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def all_scopes_token(db):
    owner = UserFactory()
    _, token = api_key_make(
        owner, *scopes.OFFERED, label="fuzz: every scope", rate_limit_per_minute=1_000_000
    )
    return token


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.reliability
@pytest.mark.timeout(900)
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_every_generated_request_within_its_schema(case):
    # given any request the schema describes (or breaks), sent with a key holding every scope
    # then every check holds
    response = case.call_and_validate()
    # and a 422 names every field it is about
    if response.status_code == 422:
        _names_its_fields(response.json())


@pytest.mark.reliability
@pytest.mark.timeout(900)
def test_api_walks_its_links_and_every_check_holds(api_schema):
    # given the schema's links from each create to what takes its ID, each scenario starting
    # from the same records (what one leaves behind would change what the next one draws, and
    # Hypothesis could not replay a failure to report it)
    class Workflow(api_schema.as_state_machine()):
        def setup(self):
            self.savepoint = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)

    # when scenarios create, read, update, act on and delete records
    # then every answer passes every check, a deleted record included (use_after_free)
    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )


def _names_its_fields(error: dict) -> None:
    fields = [e["field"] for e in error["errors"]]
    assert fields and all(fields), error
    assert error["message"].startswith(f"{fields[0]}: "), error
