"""One account with many endpoints (an event fanned out to each): a claim takes the account's
slots in one Redis round trip, leaves a share of them to the worker's other processes, and
gives each sending lane the endpoints of as few receiving hosts as it can, so a lane keeps one
kept-alive connection per host."""

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from celery.concurrency.prefork import TaskPool
from celery.concurrency.thread import TaskPool as ThreadPool
from redis.commands.core import Script

from webhooks import tasks
from webhooks.engine import claim, pipeline
from webhooks.models import Delivery
from webhooks.publish import publish_event

DATA = {"id": 1, "name": "pg", "status": "running"}


def _publish(owner, events: int) -> list[list[int]]:
    """``events`` events to every endpoint of ``owner``: the delivery ids of each."""
    out = []
    for i in range(events):
        event = publish_event(owner=owner, event="playground.created", data={**DATA, "id": i})
        out.append(list(Delivery.objects.filter(event=event).values_list("pk", flat=True)))
    return out


@pytest.fixture
def senders():
    """Pretend this process is one of a prefork worker's ``n``, as the worker says at start."""
    before = claim._senders[0]
    yield claim.senders_set
    claim.senders_set(before)


@pytest.fixture
def scripts(monkeypatch):
    """Counts the Lua scripts this process runs on Redis (the slot-taking round trips)."""
    calls = []
    real = Script.__call__

    def counted(self, *args, **kwargs):
        calls.append(self.script)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Script, "__call__", counted)
    return calls


def _release(lanes):
    for lane in lanes:
        lane.release()


def test_a_claim_takes_an_accounts_slots_in_one_round_trip(
    user, other_user, make_endpoint, scripts
):
    for i in range(20):
        make_endpoint(f"http://127.0.0.1:9/a/{i}")
    for i in range(3):
        make_endpoint(f"http://127.0.0.1:9/b/{i}", owner=other_user)
    ids = [pk for event in _publish(user, 2) + _publish(other_user, 1) for pk in event]

    lanes, busy = claim.deliveries_claim(ids, 100)
    try:
        assert len(scripts) == 2  # one per account, not one per endpoint (23)
        assert busy == [] and sum(len(lane.deliveries) for lane in lanes) == 43
        mine = [lane for lane in lanes if lane.owner_id == user.pk]
        assert len(mine) == 8  # WEBHOOKS_ACCOUNT_CONCURRENCY lanes for 20 endpoints
        assert len({lane.token for lane in lanes}) == len(lanes)
    finally:
        _release(lanes)


def test_one_round_trip_still_keeps_the_endpoint_and_account_limits(settings, user, make_endpoint):
    settings.WEBHOOKS_ENDPOINT_CONCURRENCY = 1
    settings.WEBHOOKS_ACCOUNT_CONCURRENCY = 3
    endpoints = [make_endpoint(f"http://127.0.0.1:9/{i}") for i in range(6)]
    first, second = _publish(user, 2)

    lanes, busy = claim.deliveries_claim(first, 6)  # the first event's (no others added)
    try:
        assert len(lanes) == 3 and busy == []  # six endpoints, three account slots
        assert {d.endpoint_id for lane in lanes for d in lane.deliveries} == {
            e.pk for e in endpoints
        }
        # every endpoint holds its one slot, and the account its three: nothing more now
        again, busy = claim.deliveries_claim(second, 6)
        assert again == [] and sorted(busy) == sorted(second)
    finally:
        _release(lanes)
    lanes, busy = claim.deliveries_claim(second, 6)
    assert len(lanes) == 3 and busy == []
    _release(lanes)


def test_the_processes_of_a_worker_share_an_accounts_slots(user, make_endpoint, senders, scripts):
    for i in range(8):
        make_endpoint(f"http://127.0.0.1:9/{i}")
    first, second, third = _publish(user, 3)
    senders(2)  # a worker with two processes, each claiming one event's deliveries at once

    mine, busy_mine = claim.deliveries_claim(first, 8)
    theirs, busy_theirs = claim.deliveries_claim(second, 8)
    try:
        # each takes half of the account's 8 slots; alone, the first took all 8 and the
        # second sent nothing but put its deliveries back for a second
        assert (len(mine), len(theirs)) == (4, 4)
        assert busy_mine == busy_theirs == []
        # and the account's limit holds across them: a third claim finds no slot free
        late, busy = claim.deliveries_claim(third, 8)
        assert late == [] and sorted(busy) == sorted(third)
    finally:
        _release(mine + theirs)


@pytest.mark.parametrize(
    "pool, concurrency, share", [(TaskPool, 2, 4), (TaskPool, 3, 3), (ThreadPool, 4, 8)]
)
def test_a_worker_tells_its_pool_size_before_it_forks(senders, pool, concurrency, share):
    instance = SimpleNamespace(pool_cls=pool, concurrency=concurrency)

    tasks._senders_known(sender="w@host", instance=instance)

    assert claim.account_share() == share  # threads of one process share no core: no split


def test_a_lane_takes_the_endpoints_of_as_few_hosts_as_it_can(settings, user, make_endpoint):
    settings.WEBHOOKS_ACCOUNT_CONCURRENCY = 2
    for i in range(12):  # two hosts, created a a b b a a b b … so turns would mix them
        host = 9001 + (i // 2) % 2
        make_endpoint(f"http://127.0.0.1:{host}/hooks/{i}")
    (ids,) = _publish(user, 1)

    lanes, busy = claim.deliveries_claim(ids, 100)
    _release(lanes)

    assert busy == [] and len(lanes) == 2
    hosts = [{urlsplit(d.endpoint.url).netloc for d in lane.deliveries} for lane in lanes]
    assert sorted(map(len, hosts)) == [1, 1] and hosts[0] != hosts[1]
    assert sorted(len(lane.deliveries) for lane in lanes) == [6, 6]


class _KeepAliveReceiver:
    """HTTP/1.1 with keep-alive: records the client port of each request (one per connection)."""

    def __init__(self):
        self.ports: list[int] = []
        ports = self.ports

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ports.append(self.client_address[1])
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_batch_to_many_endpoints_of_few_hosts_opens_one_connection_per_host(
    settings, user, make_endpoint
):
    settings.WEBHOOKS_ACCOUNT_CONCURRENCY = 2
    receivers = [_KeepAliveReceiver(), _KeepAliveReceiver()]
    try:
        for i in range(12):
            make_endpoint(f"{receivers[(i // 2) % 2].url}/hooks/{i}")
        ids = [pk for event in _publish(user, 3) for pk in event]

        assert pipeline.deliveries_send(delivery_ids=ids) == 36
    finally:
        for receiver in receivers:
            receiver.stop()
    # 18 requests to each host over one kept-alive connection (a lane per host), not one
    # connection per lane and host
    assert [len(r.ports) for r in receivers] == [18, 18]
    assert [len(set(r.ports)) for r in receivers] == [1, 1]


@pytest.mark.parametrize("processes, claimed", [(1, 11), (2, 6), (3, 5)])
def test_a_claim_adds_its_processes_share_of_the_other_due_deliveries(
    user, make_endpoint, senders, processes, claimed
):
    for i in range(11):
        make_endpoint(f"http://127.0.0.1:9/{i}")
    (ids,) = _publish(user, 1)  # one event to 11 endpoints, one message naming all of them
    senders(processes)

    lanes, busy = claim.deliveries_claim(ids[:1], 500)  # named 1; 10 others are due
    _release(lanes)

    # alone it takes every due one; beside siblings, the named one and its share of the
    # others (the rest are named by messages a sibling takes): the end of a burst is sent by
    # every process, not by the one whose claim came first
    assert busy == [] and sum(len(lane.deliveries) for lane in lanes) == claimed
    assert ids[0] in {d.pk for lane in lanes for d in lane.deliveries}
    assert Delivery.objects.filter(in_flight_since__isnull=True).count() == 11 - claimed
