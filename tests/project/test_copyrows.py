"""fibe_access.copyrows: COPY stores what Django's own INSERT stores, and a refused row leaves
nothing behind."""

import pytest
from django.db import DatabaseError, transaction

from fibe_access.copyrows import copy_insert
from webhooks.models import Attempt, Delivery, Event

pytestmark = pytest.mark.django_db


def _delivery(user, endpoint) -> Delivery:
    event = Event.objects.create(type="playground.created", owner=user, body=b"{}")
    return Delivery.objects.create(event=event, endpoint=endpoint)


def _attempt(delivery, number, **fields) -> Attempt:
    values = {
        "trigger": Delivery.Trigger.SCHEDULED,
        "request_url": "https://a.example/hook?x=1",
        "request_headers": {"webhook-id": "msg_1", "nested": {"ü": [1, None, "\\"]}},
        "request_body": b'\x00\x01{"a": 1}\xff',
        "response_status": 200,
        "response_headers": {"Content-Type": "text/plain"},
        "response_body": "tab\there, newline\nthere, backslash \\ and ünïcode",
        "duration_ms": 12,
    }
    return Attempt(delivery=delivery, number=number, **(values | fields))


def _stored(pk_order) -> list[tuple]:
    names = [
        f.attname
        for f in Attempt._meta.concrete_fields
        if not f.primary_key and f.name != "created_at"  # a time of its own for each insert
    ]
    return [
        tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
        for row in Attempt.objects.order_by(*pk_order).values_list(*names)
    ]


def test_copy_stores_exactly_what_bulk_create_stores(user, make_endpoint):
    delivery = _delivery(user, make_endpoint("https://a.example/hook"))
    Attempt.objects.bulk_create([_attempt(delivery, 1)])
    copy_insert(Attempt, [_attempt(delivery, 2), _attempt(delivery, 3, response_status=None)])

    first, second, third = _stored(["number"])
    assert first[0:1] + first[2:] == second[0:1] + second[2:]  # all but the number
    assert second[1:2] == (2,) and third[1:2] == (3,)
    assert third[first.index(200)] is None  # NULL, not the text "None"
    row = Attempt.objects.get(number=2)
    assert row.request_headers["nested"] == {"ü": [1, None, "\\"]}
    assert bytes(row.request_body) == b'\x00\x01{"a": 1}\xff'
    assert row.created_at is not None  # auto_now_add, as save() fills it


def test_a_row_the_database_refuses_inserts_none_of_them(user, make_endpoint):
    delivery = _delivery(user, make_endpoint("https://a.example/hook"))
    with pytest.raises(DatabaseError), transaction.atomic():
        copy_insert(
            Attempt,
            [_attempt(delivery, 1), _attempt(delivery, 2, response_body="NUL \x00 in text")],
        )
    assert not Attempt.objects.exists()
    with pytest.raises(DatabaseError), transaction.atomic():  # the unique (delivery, number)
        copy_insert(Attempt, [_attempt(delivery, 1), _attempt(delivery, 1)])
    assert not Attempt.objects.exists()


def test_nothing_to_insert_runs_no_statement(django_assert_num_queries):
    with django_assert_num_queries(0):
        copy_insert(Attempt, [])
