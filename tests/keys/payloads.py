"""Valid requests for every operation of the registry, so tests can walk all of them."""

from datetime import timedelta
from urllib.parse import urlencode

from django.utils import timezone

from fibe_access.api.operations import REGISTRY
from fibe_access.resources.models import Playground, RepoCommit, RepoFile, Repository
from fibe_access.resources.registry import FAMILIES
from keys.models import ApiKey
from tests.support.factories import resource_make
from webhooks.models import Delivery, Event, ListenDelivery, ListenSession, WebhookEndpoint

OPERATIONS = list(REGISTRY.values())

CREATE = {
    "secrets": {"name": "db password", "value": "hunter2-but-longer"},
    "job_env": {"name": "region", "key": "AWS_REGION", "value": "eu-west-1"},
    "playspecs": {"name": "spec", "config": {"image": "python:3.11"}},
    "templates": {"name": "tpl", "source_url": "https://example.com/t.yaml"},
    "webhooks": {"url": "http://127.0.0.1:9/hook", "events": ["playground.created"]},
}
# The message a listen session's report names (target_for hands it to the session it makes).
REPORTED = "00000000-0000-4000-8000-000000000001"
# Operations with a required query: what to send.
QUERY = {"repos.file": {"path": "README.md"}, "webhooks.listen_events": {"wait": 0}}


def body_for(op) -> dict | None:
    if op.body is None:
        return None
    if op.name == "playgrounds.extend":
        return {"expires_at": (timezone.now() + timedelta(days=2)).isoformat()}
    if op.name == "repos.push":
        return {"message": "first", "files": {"README.md": "# hello"}}
    if op.name == "webhooks.trigger":
        return {"event": "playspec.deleted", "set": {"data.name": "triggered"}}
    if op.name == "webhooks.listen_report":
        return {"results": [{"id": REPORTED, "status": 200, "duration_ms": 5}]}
    if op.name == "webhooks.recover":
        return {"since": (timezone.now() - timedelta(days=1)).isoformat()}
    if op.method == "PATCH":
        return {"description": "changed"}
    if op.action == "create":
        return CREATE.get(op.group, {"name": "new one"})
    assert op.body_optional, f"give {op.name} a valid body here"
    return {}


def target_for(op, owner):
    """A fresh record the operation can act on (None for operations without a path
    parameter)."""
    if not op.path_params:
        return None
    if op.path_params == ("session_id",):  # a listen session answers only the key that opened it
        key = ApiKey.objects.filter(owner=owner).order_by("-pk").first()
        session = ListenSession.objects.create(
            owner=owner,
            api_key_id=key and key.pk,
            events=["playground.created"],
            secret="s",
            last_polled_at=timezone.now(),
        )
        ListenDelivery.objects.update_or_create(  # as if handed to this session
            uid=REPORTED,
            defaults={
                "owner": owner,
                "session_ref": session.pk,
                "event_type": "playground.created",
            },
        )
        return session
    if op.group == "webhooks":
        endpoint = WebhookEndpoint.objects.create(
            owner=owner, url="http://127.0.0.1:9/hook", events=["playground.created"]
        )
        if op.path_params != ("delivery_id",):
            return endpoint
        event = Event.objects.create(type="playground.created", owner=owner, body=b"{}")
        return Delivery.objects.create(event=event, endpoint=endpoint, status="failed")
    fam = FAMILIES[op.group]
    if op.group == "repos":
        return _repository(owner)
    extra = {}
    if fam.model is Playground:
        stopped = op.action == "start"
        extra["status"] = Playground.Status.STOPPED if stopped else Playground.Status.RUNNING
    return resource_make(fam.model, owner, **extra)


def _repository(owner):
    """A repository holding README.md (what QUERY reads)."""
    repo = resource_make(Repository, owner)
    commit = RepoCommit.objects.create(repository=repo, message="init", paths=["README.md"])
    RepoFile.objects.create(repository=repo, path="README.md", content="hi", size=2, commit=commit)
    return repo


def path_for(op, obj=None) -> str:
    path = op.path
    for name in op.path_params:
        path = path.replace(f"{{{name}}}", str(obj.pk if obj else 0))
    query = QUERY.get(op.name)
    return "/api/v1" + path + (f"?{urlencode(query)}" if query else "")


def request(client, op, obj=None, body=None):
    body = body_for(op) if body is None else body
    method = getattr(client, op.method.lower())
    if body is None:
        return method(path_for(op, obj))
    return method(path_for(op, obj), body, content_type="application/json")
