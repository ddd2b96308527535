"""The security log's retention stays bounded as the log grows (issue 27): a run's queries do
not grow with the number of accounts, its deletes go in bounded batches, and each statement
runs on an index. How long it takes is bench/scale.py's business, never a test's."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fibe_access.accounts import securitylog
from fibe_access.accounts.models import SecurityEvent
from fibe_access.accounts.securitylog import security_log_trim
from tests.support.factories import UserFactory
from tests.support.plans import index_conditions, plan, statements, unindexed


def _rows(user, n, *, kind="key_created", days_ago=0):
    rows = SecurityEvent.objects.bulk_create(
        [SecurityEvent(user=user, kind=kind) for _ in range(n)]
    )
    SecurityEvent.objects.filter(pk__in=[r.pk for r in rows]).update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )


def _queries_of_a_run() -> int:
    with CaptureQueriesContext(connection) as captured:
        security_log_trim()
    return len(captured.captured_queries)


def test_a_run_costs_the_same_queries_for_three_accounts_or_thirty(db):
    users = [UserFactory() for _ in range(30)]
    for user in users[:3]:
        _rows(user, 3)
    three = _queries_of_a_run()
    for user in users[3:]:
        _rows(user, 3)
    thirty = _queries_of_a_run()
    assert three == thirty <= 4


def test_expired_rows_go_in_bounded_batches_and_are_counted(db, monkeypatch, settings):
    settings.SECURITY_LOG_RETENTION = timedelta(days=365)
    monkeypatch.setattr(securitylog, "TRIM_BATCH", 2)
    first, second = UserFactory(), UserFactory()
    _rows(first, 3, days_ago=400)
    _rows(second, 2, days_ago=400)
    _rows(first, 1, days_ago=10)
    SecurityEvent.objects.create(user=None, kind="sign_up_repeated")
    SecurityEvent.objects.filter(user=None).update(created_at=timezone.now() - timedelta(days=400))

    with CaptureQueriesContext(connection) as captured:
        assert security_log_trim() == 6
    deletes = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 6 rows, 2 a statement
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.security_events_dropped, second.security_events_dropped) == (3, 2)
    assert list(SecurityEvent.objects.values_list("user_id", flat=True)) == [first.pk]


def test_a_run_deletes_at_most_its_batches(db, monkeypatch, settings):
    settings.SECURITY_LOG_RETENTION = timedelta(days=365)
    monkeypatch.setattr(securitylog, "TRIM_BATCH", 2)
    monkeypatch.setattr(securitylog, "TRIM_MAX_BATCHES", 2)
    _rows(UserFactory(), 7, days_ago=400)
    assert security_log_trim() == 4
    assert security_log_trim() == 3  # the next run takes the rest


def test_every_statement_of_a_run_reads_an_index(db, settings):
    settings.SECURITY_LOG_MAX_ROWS = 4
    settings.SECURITY_LOG_MAX_FAILED_SIGN_IN_ROWS = 2
    user = UserFactory()
    _rows(user, 2, days_ago=400)
    _rows(user, 3, kind="sign_in_failed", days_ago=1)
    _rows(user, 3)

    with CaptureQueriesContext(connection) as captured:
        security_log_trim()

    found = statements(captured)
    assert len(found) >= 4
    for sql in found:
        assert not unindexed(sql), sql
    cap = next(sql for sql in found if "OFFSET" in sql and "ANY" in sql)
    assert "securityevent_user_failures" in str(plan(cap))  # the failures' own index
    expired = next(sql for sql in found if 'created_at" <' in sql)
    assert any("created_at" in cond for cond in index_conditions(expired))
    # Expired 2 go, then the oldest failure (cap 2), then the oldest row (cap 4): a failure.
    assert SecurityEvent.objects.filter(user=user).count() == 4
    assert SecurityEvent.objects.filter(user=user, kind="sign_in_failed").count() == 1
