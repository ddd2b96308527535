"""Selectors have one meaning of "not found": a ``*_get`` returns the record or None, the same
for a missing record and another account's; each face decides what None means to it."""

from fibe_access.resources.models import Playspec
from fibe_access.resources.selectors import MAX_ID, resource_get
from keys.selectors import key_get
from tests.factories import api_key_make, resource_make
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
