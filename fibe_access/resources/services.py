"""Every write to a resource. Each takes the acting ``Actor``, runs in one transaction, validates
with ``full_clean()``, writes its ``ResourceChange`` audit row, and announces lifecycle changes
through ``webhooks.publish`` inside that transaction (so a rolled-back change leaves neither a
row nor an announcement)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from fibe_access import keyring, sealed
from fibe_access.accounts.actor import Actor
from webhooks.publish import publish_event

from .models import Playground, Playspec, Resource, ResourceChange
from .registry import family_for_model

Status = Playground.Status
Action = ResourceChange.Action
MAX_LIFETIME = timedelta(days=365)


def _audit(actor: Actor, obj: Resource, action: str, fields=()) -> None:
    """The audit row of a write: who, from where, what (field names only), in its transaction."""
    ResourceChange.objects.create(
        owner_id=obj.owner_id,
        actor=actor.user,
        source=actor.source,
        api_key_id=actor.api_key_id,
        ip=actor.ip,
        user_agent=actor.user_agent,
        family=family_for_model(type(obj)).name,
        object_id=obj.pk,
        action=action,
        fields=sorted(fields),
    )


def event_data(obj: Resource) -> dict:
    data = {"id": obj.pk, "name": obj.name, "status": getattr(obj, "status", "active")}
    for name in family_for_model(type(obj)).event_fields:
        value = getattr(obj, name)
        data[name] = value.isoformat() if isinstance(value, datetime) else value
    return data


def _announce(obj: Resource, event: str | None, *, actor: Actor, status: str | None = None) -> None:
    if event:
        data = event_data(obj)
        if status:
            data["status"] = status
        publish_event(owner=obj.owner, event=event, data=data, actor=actor)


def _refuse_unstorable(obj: Resource) -> None:
    # PostgreSQL stores neither NUL in text nor NaN/Infinity in jsonb: refuse them as bad
    # input rather than fail on save.
    for field in obj._meta.concrete_fields:
        value = getattr(obj, field.attname)
        if isinstance(value, dict | list):
            try:
                value = json.dumps(value, allow_nan=False)
            except ValueError:
                raise ValidationError({field.name: "NaN and Infinity are not JSON."}) from None
            if "\\u0000" in value:
                raise ValidationError({field.name: "Null characters are not allowed."})
        elif isinstance(value, str) and "\x00" in value:
            raise ValidationError({field.name: "Null characters are not allowed."})
        elif isinstance(value, str) and not value.isascii():
            try:
                value.encode()
            except UnicodeEncodeError:  # a lone surrogate ("\ud800" in JSON): not text
                raise ValidationError({field.name: "Give valid Unicode text."}) from None


def _refuse_null(model: type[Resource], fields: dict) -> None:
    # full_clean() lets None through on blank=True fields; the database would not.
    for name, value in fields.items():
        if value is None and not model._meta.get_field(name).null:
            raise ValidationError({name: "This field cannot be null."})


def _current(obj: Resource, name: str):
    """A field's value to compare with a new one: a sealed field's plain text (None when no key
    opens it: any new value then counts as a change)."""
    value = getattr(obj, name)
    if not isinstance(value, sealed.Ciphertext):
        return value
    try:
        return sealed.reveal(obj, name)
    except keyring.UndecryptableError:
        return None


def _save(obj: Resource) -> Resource:
    _refuse_unstorable(obj)
    obj.full_clean()
    obj.save()
    return obj


@transaction.atomic
def resource_create(*, actor: Actor, model: type[Resource], owner, **fields) -> Resource:
    """Create any resource family's record for ``owner``; ``fields`` are the family's writable
    fields."""
    _refuse_null(model, fields)
    obj = _save(model(owner=owner, **fields))
    _audit(actor, obj, Action.CREATE, fields)
    _announce(obj, family_for_model(model).create_event, actor=actor)
    return obj


@transaction.atomic
def resource_update(*, actor: Actor, obj: Resource, **fields) -> Resource:
    """Set the given fields; a call that changes nothing writes nothing."""
    _refuse_null(type(obj), fields)
    obj = type(obj).objects.select_for_update().get(pk=obj.pk)
    changed = [name for name, value in fields.items() if _current(obj, name) != value]
    if not changed:
        return obj
    for name in changed:
        setattr(obj, name, fields[name])
    _save(obj)
    _audit(actor, obj, Action.UPDATE, changed)
    return obj


@transaction.atomic
def resource_delete(*, actor: Actor, obj: Resource) -> None:
    """Delete a record; a family with a lifecycle ends it instead (END_INSTEAD_OF_DELETE: a
    Playground is destroyed, its record stays)."""
    end = END_INSTEAD_OF_DELETE.get(type(obj))
    if end is not None:
        end(actor=actor, playground=obj)
        return
    _audit(actor, obj, Action.DELETE)
    _announce(obj, family_for_model(type(obj)).delete_event, actor=actor, status="deleted")
    obj.delete()


def _lifetime(expires_at: datetime | None) -> datetime | None:
    if expires_at is None:
        return None
    now = timezone.now()
    if expires_at <= now:
        raise ValidationError({"expires_at": "Choose a time in the future."})
    if expires_at > now + MAX_LIFETIME:
        raise ValidationError({"expires_at": "Choose a time within a year."})
    return expires_at


@transaction.atomic
def playspec_launch(
    *, actor: Actor, playspec: Playspec, name: str = "", expires_at: datetime | None = None
) -> Playground:
    """Launch a Playspec: a new Playground, created then running."""
    playground = _save(
        Playground(
            owner=playspec.owner,
            playspec=playspec,
            name=name or playspec.name,
            expires_at=_lifetime(expires_at),
            status=Status.CREATED,
        )
    )
    _audit(actor, playground, Action.LAUNCH, ["name", "playspec", "expires_at", "status"])
    _announce(playground, "playground.created", actor=actor)
    return playground_start(actor=actor, playground=playground)


def _locked(playground: Playground) -> Playground:
    return (
        Playground.objects.select_related("owner")
        .select_for_update(of=("self",))
        .get(pk=playground.pk)
    )


def _transition(
    actor: Actor,
    playground: Playground,
    *,
    action: str,
    to: str,
    allowed_from: set[str],
    event: str,
    verb: str,
    **extra,
) -> Playground:
    pg = _locked(playground)
    if pg.status not in allowed_from:
        raise ValidationError(
            {"status": f"A {pg.get_status_display().lower()} playground cannot be {verb}."}
        )
    changes = {"status": to, **extra}
    changed = [name for name, value in changes.items() if getattr(pg, name) != value]
    for name, value in changes.items():
        setattr(pg, name, value)
    _save(pg)
    _audit(actor, pg, action, changed)
    _announce(pg, event, actor=actor)
    return pg


@transaction.atomic
def playground_start(*, actor: Actor, playground: Playground) -> Playground:
    return _transition(
        actor,
        playground,
        action=Action.START,
        to=Status.RUNNING,
        verb="started",
        event="playground.started",
        allowed_from={Status.CREATED, Status.STOPPED, Status.EXPIRING},
        error_message="",
    )


@transaction.atomic
def playground_stop(*, actor: Actor, playground: Playground) -> Playground:
    return _transition(
        actor,
        playground,
        action=Action.STOP,
        to=Status.STOPPED,
        verb="stopped",
        event="playground.stopped",
        allowed_from={Status.RUNNING, Status.CREATED, Status.EXPIRING},
    )


@transaction.atomic
def playground_error(*, actor: Actor, playground: Playground, message: str) -> Playground:
    return _transition(
        actor,
        playground,
        action=Action.ERROR,
        to=Status.ERROR,
        verb="marked as failed",
        event="playground.error",
        error_message=message[:500],
        allowed_from={Status.CREATED, Status.RUNNING, Status.STOPPED, Status.EXPIRING},
    )


@transaction.atomic
def playground_destroy(*, actor: Actor, playground: Playground) -> Playground:
    return _transition(
        actor,
        playground,
        action=Action.DESTROY,
        to=Status.DESTROYED,
        verb="destroyed",
        event="playground.destroyed",
        allowed_from=set(Status.values) - {Status.DESTROYED},
    )


END_INSTEAD_OF_DELETE = {Playground: playground_destroy}


@transaction.atomic
def playground_recreate(*, actor: Actor, playground: Playground) -> Playground:
    """Start afresh from the same Playspec: running again, error cleared."""
    return _transition(
        actor,
        playground,
        action=Action.RECREATE,
        to=Status.RUNNING,
        verb="recreated",
        event="playground.recreated",
        error_message="",
        allowed_from=set(Status.values) - {Status.DESTROYED},
    )


@transaction.atomic
def playground_extend(*, actor: Actor, playground: Playground, expires_at: datetime) -> Playground:
    """Push ``expires_at`` later; a playground that was marked expiring gets its status back and
    will be noticed again when the new time nears."""
    pg = _locked(playground)
    if pg.status == Status.DESTROYED:
        raise ValidationError({"status": "A destroyed playground cannot be extended."})
    if expires_at is None:
        raise ValidationError({"expires_at": "This field is required."})
    pg.expires_at = _lifetime(expires_at)
    changed = ["expires_at"]
    if pg.status == Status.EXPIRING:
        pg.status = pg.status_before_expiring or Status.RUNNING
        changed.append("status")
    pg.status_before_expiring = ""
    pg.expiring_notified_at = None
    _save(pg)
    _audit(actor, pg, Action.EXTEND, changed)
    return pg


def playgrounds_mark_expiring(*, actor: Actor, now: datetime | None = None) -> int:
    """Mark every live playground whose ``expires_at`` is within PLAYGROUND_EXPIRY_NOTICE as
    expiring, once each: a conditional UPDATE per row, so overlapping runs cannot notify
    twice. Returns how many were marked."""
    now = now or timezone.now()
    due = Playground.objects.filter(
        expiring_notified_at__isnull=True,
        expires_at__lte=now + settings.PLAYGROUND_EXPIRY_NOTICE,
        status__in=[Status.CREATED, Status.RUNNING, Status.STOPPED],
    ).values_list("pk", flat=True)
    marked = 0
    for pk in list(due[:1000]):
        with transaction.atomic():
            won = (
                Playground.objects.filter(pk=pk, expiring_notified_at__isnull=True)
                .exclude(status__in=[Status.DESTROYED, Status.ERROR])
                .update(
                    status_before_expiring=F("status"),
                    status=Status.EXPIRING,
                    expiring_notified_at=now,
                )
            )
            if won:
                pg = Playground.objects.select_related("owner").get(pk=pk)
                _audit(actor, pg, Action.EXPIRING, ["status"])
                _announce(pg, "playground.expiring", actor=actor)
                marked += 1
    return marked
