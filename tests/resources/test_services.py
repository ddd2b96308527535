"""Resource services: lifecycle, validation and the events they announce."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from fibe_access.accounts.actor import Actor, Source
from fibe_access.resources import services
from fibe_access.resources.models import Playground, Playroom, Playspec, Secret
from fibe_access.resources.tasks import playgrounds_mark_expiring
from tests.support.factories import resource_make

Status = Playground.Status
API = Actor(user=None, source=Source.API)


@pytest.fixture
def events(monkeypatch):
    """Every publish_event call, with whether it ran inside a transaction."""
    calls = []

    def record(*, owner, event, data, actor=None):
        calls.append(
            {
                "owner": owner,
                "event": event,
                "data": data,
                "actor": actor,  # whose key caused it (issue 24: Event.credential_id)
                "atomic": transaction.get_connection().in_atomic_block,
            }
        )

    monkeypatch.setattr(services, "publish_event", record)
    return calls


def names(events):
    return [e["event"] for e in events]


def test_launch_creates_a_running_playground_and_announces_it(user, events):
    spec = resource_make(Playspec, user, name="web")
    expires = timezone.now() + timedelta(hours=4)
    pg = services.playspec_launch(actor=API, playspec=spec, expires_at=expires)
    assert pg.owner == user and pg.playspec == spec and pg.name == "web"
    assert pg.status == Status.RUNNING and pg.expires_at == expires
    assert names(events) == ["playground.created", "playground.started"]
    for event in events:
        assert event["owner"] == user and event["atomic"]
        assert {"id", "name", "status"} <= set(event["data"])
        assert event["data"]["id"] == pg.pk
    assert events[-1]["data"]["status"] == "running"


@pytest.mark.parametrize(
    "action, start, end, event",
    [
        ("stop", Status.RUNNING, Status.STOPPED, "playground.stopped"),
        ("start", Status.STOPPED, Status.RUNNING, "playground.started"),
        ("recreate", Status.ERROR, Status.RUNNING, "playground.recreated"),
        ("destroy", Status.STOPPED, Status.DESTROYED, "playground.destroyed"),
    ],
)
def test_lifecycle_moves_and_announces(user, events, action, start, end, event):
    pg = resource_make(Playground, user, status=start)
    result = getattr(services, f"playground_{action}")(actor=API, playground=pg)
    assert result.status == end
    assert Playground.objects.get(pk=pg.pk).status == end
    assert names(events) == [event]
    assert events[0]["data"]["status"] == end


def test_error_records_the_message_and_announces(user, events):
    pg = resource_make(Playground, user, status=Status.RUNNING)
    pg = services.playground_error(actor=API, playground=pg, message="image pull failed")
    assert pg.status == Status.ERROR and pg.error_message == "image pull failed"
    assert names(events) == ["playground.error"]


@pytest.mark.parametrize(
    "action, start",
    [
        ("start", Status.RUNNING),
        ("stop", Status.STOPPED),
        ("start", Status.DESTROYED),
        ("recreate", Status.DESTROYED),
        ("destroy", Status.DESTROYED),
        ("stop", Status.ERROR),
    ],
)
def test_impossible_transitions_are_refused_and_change_nothing(user, events, action, start):
    pg = resource_make(Playground, user, status=start)
    with pytest.raises(ValidationError) as excinfo:
        getattr(services, f"playground_{action}")(actor=API, playground=pg)
    assert "status" in excinfo.value.message_dict
    assert Playground.objects.get(pk=pg.pk).status == start
    assert events == []


def test_expiring_is_noticed_once_and_extend_restores_the_status(user, events, settings):
    settings.PLAYGROUND_EXPIRY_NOTICE = timedelta(hours=1)
    soon = resource_make(
        Playground, user, status=Status.STOPPED, expires_at=timezone.now() + timedelta(minutes=30)
    )
    later = resource_make(
        Playground, user, status=Status.RUNNING, expires_at=timezone.now() + timedelta(hours=3)
    )
    gone = resource_make(
        Playground, user, status=Status.DESTROYED, expires_at=timezone.now() + timedelta(minutes=5)
    )
    # when the beat task runs twice
    assert playgrounds_mark_expiring() == 1
    assert playgrounds_mark_expiring() == 0
    # then only the one nearing expiry was marked and announced, once
    soon.refresh_from_db()
    assert soon.status == Status.EXPIRING and soon.expiring_notified_at is not None
    assert Playground.objects.get(pk=later.pk).status == Status.RUNNING
    assert Playground.objects.get(pk=gone.pk).status == Status.DESTROYED
    assert names(events) == ["playground.expiring"]
    assert events[0]["data"]["id"] == soon.pk and events[0]["data"]["status"] == "expiring"
    # when it is extended, it returns to what it was and will be noticed again later
    soon = services.playground_extend(
        actor=API, playground=soon, expires_at=timezone.now() + timedelta(minutes=50)
    )
    assert soon.status == Status.STOPPED and soon.expiring_notified_at is None
    assert playgrounds_mark_expiring() == 1


def test_extend_refuses_the_past_and_destroyed_playgrounds(user):
    pg = resource_make(Playground, user, status=Status.RUNNING)
    with pytest.raises(ValidationError):
        services.playground_extend(
            actor=API, playground=pg, expires_at=timezone.now() - timedelta(minutes=1)
        )
    pg.status = Status.DESTROYED
    pg.save()
    with pytest.raises(ValidationError):
        services.playground_extend(
            actor=API, playground=pg, expires_at=timezone.now() + timedelta(hours=1)
        )
    assert Playground.objects.get(pk=pg.pk).expires_at is None


def test_playroom_and_playspec_creation_and_deletion_are_announced(user, events):
    room = services.resource_create(actor=API, model=Playroom, owner=user, name="room")
    spec = services.resource_create(actor=API, model=Playspec, owner=user, name="spec")
    room_id = room.pk
    services.resource_delete(actor=API, obj=room)
    services.resource_delete(actor=API, obj=spec)
    assert names(events) == [
        "playroom.created",
        "playspec.created",
        "playroom.deleted",
        "playspec.deleted",
    ]
    assert events[2]["data"] == {"id": room_id, "name": "room", "status": "deleted"}
    assert not Playroom.objects.exists() and not Playspec.objects.exists()


def test_other_families_are_not_announced(user, events):
    secret = services.resource_create(actor=API, model=Secret, owner=user, name="s", value="v")
    services.resource_update(actor=API, obj=secret, description="d")
    services.resource_delete(actor=API, obj=secret)
    assert events == []


def test_deleting_a_playground_destroys_it_but_keeps_the_record(user, events):
    pg = resource_make(Playground, user, status=Status.RUNNING)
    services.resource_delete(actor=API, obj=pg)
    assert Playground.objects.get(pk=pg.pk).status == Status.DESTROYED
    assert names(events) == ["playground.destroyed"]


def test_a_failed_write_announces_nothing(user, events):
    with pytest.raises(ValidationError):
        services.resource_create(actor=API, model=Playroom, owner=user, name="")
    assert events == [] and not Playroom.objects.exists()


def test_playspec_deletion_leaves_its_playgrounds(user):
    spec = resource_make(Playspec, user)
    pg = services.playspec_launch(actor=API, playspec=spec)
    services.resource_delete(actor=API, obj=spec)
    pg.refresh_from_db()
    assert pg.playspec is None and pg.status == Status.RUNNING
