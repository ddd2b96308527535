"""Every resource write leaves one ResourceChange row in its transaction: who (user, source,
API key, IP, user agent), what (family, record, action, names of the fields it set, never
their values) and when; kept out of the account's security log."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent
from fibe_access.api.caller import Caller
from fibe_access.api.invoke import invoke
from fibe_access.resources import services
from fibe_access.resources.models import Playground, Playspec, ResourceChange, Secret
from tests.support.factories import api_key_make, resource_make

Action = ResourceChange.Action
UA = "ci-script/1.0"


def rows():
    return list(
        ResourceChange.objects.order_by("pk").values_list("family", "object_id", "action", "fields")
    )


def test_every_write_through_the_api_is_audited_with_who_and_what(user, client):
    # given a key, and a caller with an IP and a user agent
    key, token = api_key_make(user, "secrets:manage", "playspecs:manage", "playgrounds:manage")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_USER_AGENT": UA}
    security_log = SecurityEvent.objects.count()
    # when it creates, updates and deletes a secret, and runs a playground's whole life
    secret = client.post(
        "/api/v1/secrets",
        {"name": "db", "value": "hunter2-value"},
        content_type="application/json",
        **headers,
    ).json()
    client.patch(
        f"/api/v1/secrets/{secret['id']}",
        {"value": "new-hunter3", "name": "db"},
        content_type="application/json",
        **headers,
    )
    client.delete(f"/api/v1/secrets/{secret['id']}", **headers)
    spec = resource_make(Playspec, user)
    pg = client.generic("POST", f"/api/v1/playspecs/{spec.pk}/launch", **headers).json()["id"]
    for action in ("stop", "start", "recreate"):
        assert client.post(f"/api/v1/playgrounds/{pg}/{action}", **headers).status_code == 200
    until = (timezone.now() + timedelta(days=1)).isoformat()
    client.post(
        f"/api/v1/playgrounds/{pg}/extend",
        {"expires_at": until},
        content_type="application/json",
        **headers,
    )
    client.delete(f"/api/v1/playgrounds/{pg}", **headers)
    # then each write left exactly one row, naming the fields it set (an unchanged name is
    # not a change)
    assert rows() == [
        ("secrets", secret["id"], Action.CREATE, ["name", "value"]),
        ("secrets", secret["id"], Action.UPDATE, ["value"]),
        ("secrets", secret["id"], Action.DELETE, []),
        ("playgrounds", pg, Action.LAUNCH, ["expires_at", "name", "playspec", "status"]),
        ("playgrounds", pg, Action.START, ["status"]),
        ("playgrounds", pg, Action.STOP, ["status"]),
        ("playgrounds", pg, Action.START, ["status"]),
        ("playgrounds", pg, Action.RECREATE, []),  # running again, nothing else changed
        ("playgrounds", pg, Action.EXTEND, ["expires_at"]),
        ("playgrounds", pg, Action.DESTROY, ["status"]),
    ]
    # and says who did it, from where, with which key
    who = set(
        ResourceChange.objects.values_list(
            "owner", "actor", "source", "api_key_id", "ip", "user_agent"
        )
    )
    assert who == {(user.pk, user.pk, Source.API, key.pk, "127.0.0.1", UA)}
    # but never a value, and nothing in the account's security log
    assert "hunter" not in str(list(ResourceChange.objects.values()))
    assert SecurityEvent.objects.count() == security_log


def test_an_mcp_call_is_audited_as_mcp_with_its_key(user):
    key, _ = api_key_make(user, "playrooms:write")
    caller = Caller.for_key(key, source=Source.MCP, ip="10.0.0.7", user_agent="agent")
    status, room = invoke("playrooms.create", caller, body={"name": "from an agent"})
    assert status == 201
    change = ResourceChange.objects.get()
    assert (change.family, change.object_id, change.action) == ("playrooms", room["id"], "create")
    assert (change.source, change.api_key_id, change.ip, change.user_agent) == (
        Source.MCP,
        key.pk,
        "10.0.0.7",
        "agent",
    )


def test_a_refused_or_empty_write_leaves_no_row(user):
    actor = Actor(user=user, source=Source.API)
    pg = resource_make(Playground, user, status=Playground.Status.DESTROYED)
    secret = resource_make(Secret, user, name="same")
    with pytest.raises(ValidationError):
        services.playground_start(actor=actor, playground=pg)
    with pytest.raises(ValidationError):
        services.resource_update(actor=actor, obj=secret, name="")
    before = Secret.objects.filter(pk=secret.pk).values().get()
    assert services.resource_update(actor=actor, obj=secret, name="same").name == "same"
    assert Secret.objects.filter(pk=secret.pk).values().get() == before  # not even updated_at
    assert not ResourceChange.objects.exists()


def test_the_expiry_notice_is_audited_as_the_system(user, settings):
    pg = resource_make(
        Playground,
        user,
        status=Playground.Status.RUNNING,
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    assert services.playgrounds_mark_expiring(actor=Actor.system()) == 1
    change = ResourceChange.objects.get()
    assert (change.object_id, change.action, change.fields) == (pg.pk, "expiring", ["status"])
    assert (change.owner_id, change.actor_id, change.source) == (user.pk, None, Source.SYSTEM)


def test_staff_read_the_trail_in_the_admin_and_cannot_change_it(user, staff_client):
    services.resource_create(
        actor=Actor(user=user, source=Source.API), model=Playspec, owner=user, name="x"
    )
    change = ResourceChange.objects.get()
    listing = staff_client.get("/admin/resources/resourcechange/?family=playspecs")
    assert listing.status_code == 200 and b"playspecs" in listing.content
    assert (
        staff_client.get(f"/admin/resources/resourcechange/{change.pk}/change/").status_code == 200
    )
    assert staff_client.get("/admin/resources/resourcechange/add/").status_code == 403
    staff_client.post(f"/admin/resources/resourcechange/{change.pk}/delete/", {"post": "yes"})
    assert ResourceChange.objects.filter(pk=change.pk).exists()
