"""The resource API end to end with a key: pagination, actions, events."""

from datetime import timedelta

from django.utils import timezone

from fibe_access.resources.models import Playground, Playroom, Playspec
from tests.support.factories import api_key_make, resource_make


def test_list_is_paginated_newest_first(user, api_client):
    rooms = [resource_make(Playroom, user, name=f"room {i}") for i in range(5)]
    _, token = api_key_make(user, "playrooms:read")
    page = api_client(token).get("/api/v1/playrooms?limit=2&offset=1").json()
    assert page["count"] == 5 and page["limit"] == 2 and page["offset"] == 1
    assert [item["id"] for item in page["items"]] == [rooms[3].pk, rooms[2].pk]


def test_playground_lifecycle_through_the_api(user, api_client):
    spec = resource_make(Playspec, user)
    _, token = api_key_make(user, "playspecs:write", "playgrounds:manage")
    client = api_client(token)
    pg = client.post(
        f"/api/v1/playspecs/{spec.pk}/launch", {"name": "ci run"}, content_type="application/json"
    ).json()
    assert pg["status"] == "running" and pg["name"] == "ci run"
    url = f"/api/v1/playgrounds/{pg['id']}"
    assert client.post(f"{url}/stop").json()["status"] == "stopped"
    assert client.post(f"{url}/start").json()["status"] == "running"
    assert client.post(f"{url}/recreate").json()["status"] == "running"
    until = timezone.now() + timedelta(days=1)
    extended = client.post(
        f"{url}/extend", {"expires_at": until.isoformat()}, content_type="application/json"
    ).json()
    assert extended["expires_at"].startswith(until.strftime("%Y-%m-%dT%H:%M"))
    # a running playground cannot be started: a conflict with its state
    refused = client.post(f"{url}/start")
    assert refused.status_code == 409 and refused.json()["code"] == "conflict"
    assert refused.json()["message"] == "A running playground cannot be started."
    # destroyed, it reads as gone, though its record stays
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert client.post(f"{url}/start").status_code == 404
    assert pg["id"] not in [p["id"] for p in client.get("/api/v1/playgrounds").json()["items"]]
    assert Playground.objects.get(pk=pg["id"]).status == "destroyed"


def test_update_changes_only_given_fields(user, api_client):
    spec = resource_make(Playspec, user, description="keep", config={"a": 1})
    _, token = api_key_make(user, "playspecs:write", "playspecs:read")
    response = api_client(token).patch(
        f"/api/v1/playspecs/{spec.pk}", {"name": "renamed"}, content_type="application/json"
    )
    assert response.status_code == 200
    spec.refresh_from_db()
    assert (spec.name, spec.description, spec.config) == ("renamed", "keep", {"a": 1})
