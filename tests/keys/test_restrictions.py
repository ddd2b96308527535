"""Keys never reach another account's resources, and a restricted family shows only its IDs."""

import pytest
from django.core.exceptions import ValidationError

from fibe_access.accounts.actor import Source
from fibe_access.api.caller import Caller
from fibe_access.api.invoke import invoke
from fibe_access.api.operations import REGISTRY
from fibe_access.resources.models import Playground, Playspec, Secret
from fibe_access.resources.registry import FAMILIES
from keys import scopes
from keys.models import ApiKey
from tests.support.factories import api_key_make, resource_make

from .payloads import CREATE, OPERATIONS, request, target_for

EVERYTHING = [f"{family}:manage" for family in scopes.FAMILIES] + ["launch:write"]
ITEM_OPERATIONS = [op for op in OPERATIONS if op.path_params]


def snapshot(obj):
    return type(obj).objects.filter(pk=obj.pk).values().first()


def test_ci_key_launches_its_playspec_only_and_reads_none(user, api_client):
    # given the product page's CI key: launch:write restricted to one Playspec
    spec_42, other = resource_make(Playspec, user), resource_make(Playspec, user)
    _, token = api_key_make(user, "launch:write", restrictions={"playspecs": [spec_42.pk]})
    client = api_client(token)
    # when it launches its Playspec, then a playground runs from it
    response = client.post(
        f"/api/v1/playspecs/{spec_42.pk}/launch", {}, content_type="application/json"
    )
    assert response.status_code == 201
    assert response.json()["playspec"] == spec_42.pk
    assert response.json()["status"] == "running"
    # it cannot launch another Playspec of the same account (no existence leak either)
    response = client.post(
        f"/api/v1/playspecs/{other.pk}/launch", {}, content_type="application/json"
    )
    assert response.status_code == 404
    assert not Playground.objects.filter(playspec=other).exists()
    # and it cannot read Playspecs at all
    assert client.get(f"/api/v1/playspecs/{other.pk}").status_code == 403
    assert client.get("/api/v1/playspecs").status_code == 403


def test_restricted_family_lists_only_listed_ids_and_hides_the_rest(user, api_client):
    # given two secrets and a key restricted to one of them
    mine, hidden = resource_make(Secret, user), resource_make(Secret, user)
    _, token = api_key_make(user, "secrets:manage", restrictions={"secrets": [mine.pk]})
    client = api_client(token)
    # then the list shows only the listed one
    listed = client.get("/api/v1/secrets").json()
    assert [item["id"] for item in listed["items"]] == [mine.pk]
    assert listed["count"] == 1
    # and every operation on the other answers 404 and changes nothing
    before = snapshot(hidden)
    assert client.get(f"/api/v1/secrets/{hidden.pk}").status_code == 404
    assert (
        client.patch(
            f"/api/v1/secrets/{hidden.pk}", {"name": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/secrets/{hidden.pk}").status_code == 404
    assert snapshot(hidden) == before
    # while the listed one is fully usable
    assert client.get(f"/api/v1/secrets/{mine.pk}").status_code == 200
    assert client.delete(f"/api/v1/secrets/{mine.pk}").status_code == 204


def test_restricted_key_cannot_create_in_its_restricted_family(user, api_client):
    mine = resource_make(Secret, user)
    _, token = api_key_make(user, "secrets:manage", restrictions={"secrets": [mine.pk]})
    response = api_client(token).post(
        "/api/v1/secrets", CREATE["secrets"], content_type="application/json"
    )
    assert response.status_code == 403
    assert Secret.objects.filter(owner=user).count() == 1


def test_restriction_on_one_family_leaves_others_open(user, api_client):
    spec = resource_make(Playspec, user)
    pg = resource_make(Playground, user)
    _, token = api_key_make(
        user, "playspecs:read", "playgrounds:read", restrictions={"playspecs": [spec.pk]}
    )
    assert api_client(token).get(f"/api/v1/playgrounds/{pg.pk}").status_code == 200


def test_restriction_rechecks_ownership_at_request_time(user, other_user, api_client):
    # given a key restricted to a spec that later changes hands (as if by an admin)
    spec = resource_make(Playspec, user)
    _, token = api_key_make(user, "playspecs:read", restrictions={"playspecs": [spec.pk]})
    Playspec.objects.filter(pk=spec.pk).update(owner=other_user)
    # then the key no longer reaches it
    assert api_client(token).get(f"/api/v1/playspecs/{spec.pk}").status_code == 404
    assert api_client(token).get("/api/v1/playspecs").json()["items"] == []


def test_restriction_to_another_accounts_resource_is_refused_at_save(user, other_user):
    # given a playspec of another account
    theirs = resource_make(Playspec, other_user)
    # when a key is created restricted to it, then it is refused, naming the ID
    with pytest.raises(ValidationError) as excinfo:
        api_key_make(user, "launch:write", restrictions={"playspecs": [theirs.pk]})
    assert str(theirs.pk) in excinfo.value.message_dict["restrictions"][0]
    assert not ApiKey.objects.filter(owner=user).exists()


@pytest.mark.parametrize(
    "restrictions, fragment",
    [
        ({"playgrounds": [1]}, "none of the chosen scopes"),
        ({"playspecs": []}, "list of 1 to"),
        ({"playspecs": ["1"]}, "list of 1 to"),
        ({"playspecs": [0]}, "list of 1 to"),
        ({"playspecs": [2**70]}, "list of 1 to"),
        ({"nonsense": [1]}, "none of the chosen scopes"),
        ({"playspecs": [999_999_999]}, "No playspecs with ID 999999999"),
    ],
)
def test_malformed_restrictions_are_refused_with_a_clear_message(user, restrictions, fragment):
    with pytest.raises(ValidationError) as excinfo:
        api_key_make(user, "playspecs:read", restrictions=restrictions)
    assert fragment in excinfo.value.message_dict["restrictions"][0]


def test_import_templates_scope_restricts_the_templates_family(user, api_client):
    tpl, other = (resource_make(FAMILIES["templates"].model, user) for _ in range(2))
    _, token = api_key_make(
        user, "import_templates:read", restrictions={"import_templates": [tpl.pk]}
    )
    client = api_client(token)
    assert client.get(f"/api/v1/templates/{tpl.pk}").status_code == 200
    assert client.get(f"/api/v1/templates/{other.pk}").status_code == 404


@pytest.mark.parametrize("op", ITEM_OPERATIONS, ids=lambda op: op.name)
def test_no_key_reaches_another_accounts_resource(op, user, other_user, api_client):
    # given a key with every scope, and a record of another account
    _, token = api_key_make(user, *EVERYTHING)
    theirs = target_for(op, other_user)
    before = snapshot(theirs)
    # when the key calls the operation on it
    response = request(api_client(token), op, theirs)
    # then it is not found and nothing changed
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"
    assert snapshot(theirs) == before
    assert not Playground.objects.filter(owner=user).exists()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_lists_never_show_another_accounts_records(family, user, other_user, api_client):
    model = FAMILIES[family].model
    mine = resource_make(model, user)
    resource_make(model, other_user)
    _, token = api_key_make(user, f"{family}:read")
    items = api_client(token).get(f"/api/v1/{family}").json()["items"]
    assert [item["id"] for item in items] == [mine.pk]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_create_always_belongs_to_the_keys_owner(family, user, other_user, api_client):
    _, token = api_key_make(user, f"{family}:write")
    client, body = api_client(token), CREATE.get(family, {"name": "n"})
    # naming another owner is refused (a field the body does not take), and makes nothing
    for field in ("owner", "owner_id"):
        hijack = {**body, field: other_user.pk}
        refused = client.post(f"/api/v1/{family}", hijack, content_type="application/json")
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field
    assert not FAMILIES[family].model.objects.filter(owner=other_user).exists()
    response = client.post(f"/api/v1/{family}", body, content_type="application/json")
    assert response.status_code == 201
    assert FAMILIES[family].model.objects.get(pk=response.json()["id"]).owner == user


def test_webhooks_restriction_is_checked_against_the_owners_endpoints(user, other_user):
    from webhooks.models import WebhookEndpoint

    mine = WebhookEndpoint.objects.create(owner=user, url="https://example.com/a")
    theirs = WebhookEndpoint.objects.create(owner=other_user, url="https://example.com/b")
    key, _ = api_key_make(user, "webhooks:read", restrictions={"webhooks": [mine.pk]})
    assert key.restrictions == {"webhooks": [mine.pk]}
    with pytest.raises(ValidationError, match=f"No webhooks with ID {theirs.pk}"):
        api_key_make(user, "webhooks:read", restrictions={"webhooks": [theirs.pk]})


def test_a_key_restricted_on_playgrounds_cannot_launch_one(user, api_client):
    # given a key that may launch, restricted to one playground
    spec, mine = resource_make(Playspec, user), resource_make(Playground, user)
    key, token = api_key_make(
        user, "launch:write", "playgrounds:read", restrictions={"playgrounds": [mine.pk]}
    )
    # when it launches, then it is refused, saying why, through REST and invoke alike
    response = api_client(token).generic("POST", f"/api/v1/playspecs/{spec.pk}/launch")
    assert response.status_code == 403
    assert response.json() == {
        "code": "insufficient_scope",
        "message": "This API key is restricted to listed playgrounds and cannot create new "
        "ones, which playspecs.launch does.",
    }
    caller = Caller.for_key(key, source=Source.MCP)
    assert invoke("playspecs.launch", caller, path={"id": spec.pk}) == (403, response.json())
    # and no playground appeared; the docs say so
    assert list(Playground.objects.all()) == [mine]
    assert "Creates playgrounds: a key restricted" in REGISTRY["playspecs.launch"].description


def test_a_playspec_outside_the_restriction_reads_as_null_on_a_playground(user, api_client):
    # given playgrounds launched from a listed and from a hidden playspec
    listed, hidden = resource_make(Playspec, user), resource_make(Playspec, user)
    from_listed = resource_make(Playground, user, playspec=listed)
    from_hidden = resource_make(Playground, user, playspec=hidden, status="running")
    key, token = api_key_make(
        user, "playspecs:read", "playgrounds:manage", restrictions={"playspecs": [listed.pk]}
    )
    client = api_client(token)
    # then every answer shows the listed playspec and null for the hidden one
    items = client.get("/api/v1/playgrounds").json()["items"]
    assert {i["id"]: i["playspec"] for i in items} == {
        from_listed.pk: listed.pk,
        from_hidden.pk: None,
    }
    assert client.get(f"/api/v1/playgrounds/{from_hidden.pk}").json()["playspec"] is None
    assert (
        client.generic("POST", f"/api/v1/playgrounds/{from_hidden.pk}/stop").json()["playspec"]
        is None
    )
    caller = Caller.for_key(key, source=Source.MCP)
    status, got = invoke("playgrounds.get", caller, path={"id": from_hidden.pk})
    assert status == 200 and got["playspec"] is None
    # while the record keeps it, and a key without the restriction sees it
    from_hidden.refresh_from_db()
    assert from_hidden.playspec_id == hidden.pk and from_hidden.status == "stopped"
    _, plain = api_key_make(user, "playgrounds:read")
    got = api_client(plain).get(f"/api/v1/playgrounds/{from_hidden.pk}").json()
    assert got["playspec"] == hidden.pk
    assert "`playspec`: null when it names" in REGISTRY["playgrounds.get"].description
