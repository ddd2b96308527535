"""The orjson renderer writes the same JSON as django-ninja's own renderer."""

import datetime as dt
import json
import uuid
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from ninja.renderers import JSONRenderer
from pydantic import BaseModel

from fibe_access.api.renderer import OrjsonRenderer
from fibe_access.api.site import api
from fibe_access.resources.models import Playground
from tests.support.factories import api_key_make, resource_make


class Colour(models.TextChoices):
    RED = "red"


class Level(models.IntegerChoices):
    HIGH = 3


class Point(BaseModel):
    x: int
    at: dt.datetime


UTC = dt.UTC
SAMPLES = [
    {"at": dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)},
    {"at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "naive": dt.datetime(2026, 1, 2)},  # noqa: DTZ001
    {"offset": dt.datetime(2026, 1, 2, 3, 4, 5, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))},
    {"date": dt.date(2026, 2, 3), "time": dt.time(4, 5, 6, 789012), "span": dt.timedelta(1, 2)},
    {"decimal": Decimal("1.10"), "uuid": uuid.UUID(int=7), "colour": Colour.RED},
    {"level": Level.HIGH, "point": Point(x=1, at=dt.datetime(2026, 1, 1, tzinfo=UTC))},
    {"text": 'é 💡 "quoted" \u2028', "n": [1, 2.5, -0.0, None, True], 3: "int key"},
    {"big": 2**80, "nested": {"a": [{"b": []}]}},
    [],
    None,
]


def test_same_json_as_ninja_renderer_for_every_kind_of_value():
    ours, ninjas = OrjsonRenderer(), JSONRenderer()
    for data in SAMPLES:
        got = ours.render(None, data, response_status=200)
        want = ninjas.render(None, data, response_status=200)
        assert json.loads(got) == json.loads(want), data


def test_api_uses_orjson_and_writes_datetimes_like_django(user, api_client):
    assert isinstance(api.renderer, OrjsonRenderer)
    pg = resource_make(Playground, user)
    _, token = api_key_make(user, "playgrounds:read")
    body = api_client(token).get(f"/api/v1/playgrounds/{pg.pk}").json()
    pg.refresh_from_db()
    assert body["created_at"] == DjangoJSONEncoder().default(pg.created_at)
    assert body["id"] == pg.pk and body["name"] == pg.name
