"""A reported leak (issue 24) reaches every gunicorn worker from its commit on: keys each worker
holds in its own cache are refused on the very next request, whichever worker takes it."""

import pytest
import requests

from keys.models import ApiKey
from tests.reliability.test_key_cache_processes import burst
from tests.support.factories import UserFactory, api_key_make

pytestmark = pytest.mark.reliability


def test_a_reported_batch_is_refused_by_every_worker_at_once(app_server):
    server = app_server(workers=3)
    owners = [UserFactory(), UserFactory()]
    made = [
        api_key_make(owner, "playgrounds:read", rate_limit_per_minute=10**6)
        for owner in owners
        for _ in range(2)
    ]
    _, kept_token = api_key_make(owners[0], "playgrounds:read", rate_limit_per_minute=10**6)
    # given every worker holding every key (many requests spread over the workers)
    for _, token in made:
        assert set(burst(server.url, token, 45)) == {200}

    # when the tokens are reported through the public endpoint of that server
    response = requests.post(
        f"{server.url}/api/v1/credentials/revoke",
        json={"credentials": [t for _, t in made] + ["fibe_junk", _mistyped(kept_token)]},
        timeout=30,
    )

    # then the report committed before it answered, and no worker accepts them any more
    assert response.status_code == 202
    assert set(
        ApiKey.objects.filter(pk__in=[k.pk for k, _ in made]).values_list("status", flat=True)
    ) == {ApiKey.Status.REVOKED}
    for _, token in made:
        assert set(burst(server.url, token, 45)) == {401}
    assert set(burst(server.url, kept_token, 45)) == {200}


def _mistyped(token: str) -> str:
    """The same token with its last character changed: its checksum no longer matches."""
    return token[:-1] + ("0" if token[-1] != "0" else "1")
