"""Selectors have one meaning of "not found": a ``*_get`` returns the record or None, the same
for a missing record and another account's; each face decides what None means to it."""

from fibe_access.resources.models import Playspec
from fibe_access.resources.selectors import MAX_ID, resource_get
from keys.selectors import key_get
from tests.support.factories import api_key_make, resource_make
from webhooks.models import WebhookEndpoint
from webhooks.selectors import delivery_get, endpoint_get


def test_get_selectors_return_the_record_or_none(user, other_user):
    spec = resource_make(Playspec, user)
    key, _ = api_key_make(user, "playspecs:read")
    endpoint = WebhookEndpoint.objects.create(owner=user, url="https://example.com/h")

    assert resource_get(model=Playspec, owner_id=user.pk, pk=spec.pk) == spec
    assert key_get(owner=user, pk=key.pk) == key
    assert endpoint_get(owner=user, endpoint_id=endpoint.pk) == endpoint
    for missing in (
        resource_get(model=Playspec, owner_id=other_user.pk, pk=spec.pk),
        resource_get(model=Playspec, owner_id=user.pk, pk=spec.pk + 1000),
        resource_get(model=Playspec, owner_id=user.pk, pk=MAX_ID + 1),
        resource_get(model=Playspec, owner_id=user.pk, pk=0),
        key_get(owner=other_user, pk=key.pk),
        key_get(owner=user, pk=key.pk + 1000),
        endpoint_get(owner=other_user, endpoint_id=endpoint.pk),
        delivery_get(owner=user, delivery_id=12345),
    ):
        assert missing is None


def test_plain_read_is_one_query_without_the_owner_join(user, other_user, api_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from fibe_access.resources.models import Playground

    # given a playground, and a key that has been used once (its last-used write is done)
    pg = resource_make(Playground, user)
    _, token = api_key_make(user, "playgrounds:read")
    client = api_client(token)
    assert client.get(f"/api/v1/playgrounds/{pg.pk}").status_code == 200
    # when it is read again through the API
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/playgrounds/{pg.pk}")
    # then the answer costs one query, on the playground alone, scoped to the owner
    assert response.status_code == 200 and response.json()["id"] == pg.pk
    assert len(queries) == 1
    sql = queries[0]["sql"]
    assert "accounts_user" not in sql and "ORDER BY" not in sql and "owner_id" in sql
    # and the same read of another account's playground is a 404
    other = resource_make(Playground, other_user)
    assert client.get(f"/api/v1/playgrounds/{other.pk}").status_code == 404
    # while a write still loads the owner with the record (for the events it publishes)
    assert resource_get(model=Playground, owner_id=user.pk, pk=pg.pk)._state.fields_cache["owner"]
