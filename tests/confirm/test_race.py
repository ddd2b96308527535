"""Eight concurrent retries of one approved destructive call, each a thread with its own
connection to the real PostgreSQL: the claim (UPDATE … WHERE status='approved' in the call's
transaction) lets exactly one through (issue 22)."""

import threading

from django.db import connection
from django.test import Client

from fibe_access.accounts.models import SecurityEvent
from fibe_access.resources.models import Playspec
from tests.support.factories import api_key_make, resource_make

from .helpers import confirmation_of, decide

RETRIES = 8


def test_eight_concurrent_retries_of_an_approved_call_exactly_one_succeeds(
    transactional_db, user, make_stepped_up_client
):
    # an update (destructive: it overwrites) succeeds every time it runs, so any second pass
    # would show as a second 200; a delete's second pass would hide behind a 404
    _, token = api_key_make(user, "playspecs:write", confirm_destructive=True)
    spec = resource_make(Playspec, user, name="before")
    url = f"/api/v1/playspecs/{spec.pk}"
    change = {"data": {"name": "after"}, "content_type": "application/json"}
    body = Client(HTTP_AUTHORIZATION=f"Bearer {token}").patch(url, **change).json()
    decide(make_stepped_up_client(user), body, "approve")
    assert confirmation_of(body).status == "approved"

    start = threading.Barrier(RETRIES)
    statuses: list[int] = []
    lock = threading.Lock()

    def retry():
        try:
            client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
            start.wait()
            status = client.patch(url, **change).status_code
            with lock:
                statuses.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(RETRIES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [403] * (RETRIES - 1), statuses
    assert confirmation_of(body).status == "used"
    assert SecurityEvent.objects.filter(kind="confirmation_used").count() == 1
    spec.refresh_from_db()
    assert spec.name == "after"
