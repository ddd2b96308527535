"""Valid requests for every generated operation, so tests can walk OPERATIONS."""

from datetime import timedelta

from django.utils import timezone

import fibe_access.api  # noqa: F401 - builds the routes, filling OPERATIONS
from fibe_access.resources.models import Playground
from fibe_access.resources.registry import FAMILIES
from tests.factories import resource_make

CREATE = {
    "secrets": {"name": "db password", "value": "hunter2-but-longer"},
    "job_env": {"name": "region", "key": "AWS_REGION", "value": "eu-west-1"},
    "playspecs": {"name": "spec", "config": {"image": "python:3.11"}},
    "templates": {"name": "tpl", "source_url": "https://example.com/t.yaml"},
}


def family_of(path: str) -> str:
    return path.split("/")[1]


def body_for(op) -> dict | None:
    if op.method == "GET" or op.method == "DELETE":
        return None
    if op.path.endswith("/extend"):
        return {"expires_at": (timezone.now() + timedelta(days=2)).isoformat()}
    if op.path.endswith(("/launch", "/start", "/stop", "/recreate")):
        return {}
    if op.method == "PATCH":
        return {"description": "changed"}
    return CREATE.get(family_of(op.path), {"name": "new one"})


def target_for(op, owner):
    """A fresh record the operation can act on (None for collection routes)."""
    if "{id}" not in op.path:
        return None
    fam = FAMILIES[family_of(op.path)]
    extra = {}
    if fam.model is Playground:
        stopped = op.path.endswith("/start")
        extra["status"] = Playground.Status.STOPPED if stopped else Playground.Status.RUNNING
    return resource_make(fam.model, owner, **extra)


def request(client, op, obj=None, body=None):
    path = "/api/v1" + op.path.replace("{id}", str(obj.pk if obj else 0))
    body = body_for(op) if body is None else body
    method = getattr(client, op.method.lower())
    if body is None:
        return method(path)
    return method(path, body, content_type="application/json")
