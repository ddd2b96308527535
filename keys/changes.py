"""How key services tell every process that a key is changing, without a Redis round trip on the
request path.

One vocabulary, two events: a change **begins** (inside the service's transaction, before it
commits) and is **done** (once it has committed). ``begin``/``done`` apply the event in this
process at once and ``send`` it to every other process on a Redis pub/sub channel; the change in
flight is also kept in a sorted set that expires by itself (a rolled-back change is never done).
Every process subscribes once and, before it trusts a cached key, applies what has already
arrived on that connection (``Listener.poll``: a non-blocking read, no round trip).

Why that holds "at commit": "begin" is on Redis, and written by Redis to every subscriber's
socket, before the service's transaction commits; a request that starts after the commit finds
it there. A key named in a "begin" is read from the database on every request until its "done"
(or until the flag's FLAG_TTL when the change rolled back).

When the network misbehaves:
- A process trusts its cached keys only while its subscription has answered a PING sent less
  than ``API_KEY_CHANNEL_TRUST_SECONDS`` ago (it sends one each third of that): Redis answers
  in order, so the PING's answer comes after every notice sent before it. A connection that is
  stalled or black-holed without a close therefore stops being trusted within that time, and
  one whose PING goes unanswered for ``REDIS_TIMEOUT_SECONDS`` is dropped and made again.
- A process that is not subscribed (Redis unreachable, the connection lost, a fresh fork) trusts
  no cached copy: it reads keys from the database until it is subscribed again, and on
  (re)subscribing drops every copy it holds and reads the changes in flight from the sorted set.
- A change that cannot be sent (two tries, each bounded by ``REDIS_TIMEOUT_SECONDS``) is logged
  as an error and still committed: every process then stops using its copy when that copy's
  ``API_KEY_CACHE_SECONDS`` run out.
"""

from __future__ import annotations

import logging
import math
import os
import select
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.signals import setting_changed
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from fibe_access import redis as shared
from fibe_access.redis import redis_backend, redis_client, uses_redis

log = logging.getLogger(__name__)
FLAG_TTL = 60  # a change flag left by a rolled-back change expires by itself
MAX_CHANGING = 1024
RESUBSCRIBE_AFTER = 1.0  # seconds between attempts when Redis cannot be reached
SEND_TRIES = 2
BEGIN, DONE = "begin", "done"
READABLE = select.POLLIN | select.POLLERR | select.POLLHUP

# Called with a key's name when an event about it is received, or None: drop every copy.
DropCopies = Callable[[str | None], None]


def _names(backend) -> tuple[str, str]:
    """The channel and the in-flight set, named after the cache's key prefix and database: pub/sub
    channels are shared by every database of a Redis server."""
    db = redis_client(backend).connection_pool.connection_kwargs.get("db", 0)
    base = backend.make_and_validate_key(f"fibe:keys:{db}")
    return f"{base}:changes", f"{base}:changing"


def begin(key_name: str) -> bool:
    """Until ``done``, no process trusts a cached copy of the key. False when the other
    processes could not be told (logged)."""
    listener.receive(BEGIN, key_name)
    return send(BEGIN, key_name)


def done(key_name: str) -> bool:
    """The change has committed: every process drops its copy and trusts the key's next read."""
    listener.receive(DONE, key_name)
    return send(DONE, key_name)


def send(kind: str, key_name: str) -> bool:
    """Tell every other process (not this one: ``begin`` and ``done`` apply it here first).
    True once Redis has it; False, logged as an error, after SEND_TRIES failed tries."""
    backend = redis_backend()
    if backend is None:
        return True  # no Redis, no other process sharing this cache
    channel, changing = _names(backend)
    failure = None
    for _ in range(SEND_TRIES):
        now = time.time()
        pipe = redis_client(backend).pipeline(transaction=False)
        if kind == BEGIN:
            pipe.zremrangebyscore(changing, "-inf", now)
            pipe.zadd(changing, {key_name: now + FLAG_TTL})
            pipe.expire(changing, FLAG_TTL)
        else:
            pipe.zrem(changing, key_name)
        pipe.publish(channel, f"{kind}:{key_name}")
        try:
            pipe.execute()
            return True
        except RedisError as exc:
            failure = exc
    log.error(
        "could not send the %s of a change of key %s (%s): other processes stop using their"
        " copy within API_KEY_CACHE_SECONDS",
        kind,
        key_name,
        type(failure).__name__,
    )
    return False


class Listener:
    """This process's subscription to the change channel, and the keys it must not trust."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.subscribing = threading.Lock()  # one thread subscribes; the others do not wait
        self.pubsub = None
        self.poller = None  # select.poll on the subscription's socket
        self.retry_at = 0.0
        self.changing: dict[str, float] = {}  # key name -> monotonic time its flag lapses
        self.epoch = 0  # moves on with every event received: a read older than one is stale
        self.drop_copies: DropCopies = lambda name: None
        self.answered = -math.inf  # when the last PING answered (or the SUBSCRIBE) was sent
        self.ping_sent: float | None = None  # the PING awaiting its answer
        self.subscribed_once = False  # later subscriptions are made off the request path

    def receive(self, kind: str, key_name: str) -> None:
        with self.lock:
            self.epoch += 1
            if kind == BEGIN:
                now = time.monotonic()
                if len(self.changing) >= MAX_CHANGING:  # flags of rolled-back changes lapse
                    self.changing = {n: t for n, t in self.changing.items() if t > now}
                self.changing[key_name] = now + FLAG_TTL
            else:
                self.changing.pop(key_name, None)
            self.drop_copies(key_name)

    def trusted(self, key_name: str) -> bool:
        """Whether a cached copy of the key may be used (call after ``poll``)."""
        lapses = self.changing.get(key_name)
        if lapses is None:
            return True
        if time.monotonic() < lapses:
            return False
        self.changing.pop(key_name, None)
        return True

    def poll(self) -> bool:
        """Apply every event that has arrived. True when this process hears the channel and
        heard from Redis lately (its cached keys may be trusted); False otherwise (read keys
        from the database). Never waits on Redis, except for a process's first subscription
        (one thread, at most REDIS_TIMEOUT_SECONDS a step): a lost one is made again on a
        thread of its own while requests read keys from the database."""
        with self.lock:  # a thread applying events finishes before another trusts a copy
            if self.pubsub is not None:
                return self._check()
            first = not self.subscribed_once
        if first:
            return self._subscribe()
        if time.monotonic() >= self.retry_at and not self.subscribing.locked():
            threading.Thread(target=self._subscribe, name="fibe-key-changes", daemon=True).start()
        return False

    def reset(self, *, inherited: bool = False) -> None:
        """Start over: trust nothing cached, subscribe again on the next poll. ``inherited``:
        in a forked child, whose connection belongs to the parent."""
        if inherited:
            self.lock = threading.RLock()
            self.subscribing = threading.Lock()
        with self.lock:
            self._lose(close=not inherited)
            self.retry_at = 0.0
            self.subscribed_once = False

    def _check(self) -> bool:
        now = time.monotonic()
        timeout = settings.REDIS_TIMEOUT_SECONDS
        trust_for = settings.API_KEY_CHANNEL_TRUST_SECONDS
        try:
            # Nothing is left in redis-py's buffer after a drain, so an idle socket means
            # nothing new (a sub-microsecond check); otherwise apply what has arrived.
            if self.poller.poll(0):
                self._drain(self.pubsub)
            if self.ping_sent is not None and now - self.ping_sent > timeout:
                raise RedisError("no answer to PING")  # stalled or black-holed: make it again
            if self.ping_sent is None and now - self.answered >= trust_for / 3:
                self.pubsub.ping()  # a few bytes written; its answer is read by a later poll
                self.ping_sent = now
        except (RedisError, OSError, ValueError) as exc:
            log.warning("key change channel lost: %s", type(exc).__name__)
            self._lose(close=True)
            return False
        return now - self.answered < trust_for

    def _apply(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "pong":
            if self.ping_sent is not None:
                self.answered, self.ping_sent = self.ping_sent, None
            return
        if kind == "subscribe":  # subscribed again: events may have been missed
            raise RedisError("resubscribed")
        if kind != "message":
            return
        event, _, key_name = bytes(message["data"]).decode("ascii", "replace").partition(":")
        if event in (BEGIN, DONE) and key_name:
            self.receive(event, key_name)

    def _subscribe(self) -> bool:
        """Subscribe, then read the changes in flight; False (and retry later) on failure.
        Other threads meanwhile read keys from the database rather than wait."""
        if time.monotonic() < self.retry_at or shared.away():
            return False
        if not self.subscribing.acquire(blocking=False):
            return False
        try:
            backend = redis_backend() if uses_redis() else None
            if backend is None:
                return False
            return self._subscribe_to(backend)
        finally:
            self.subscribing.release()

    def _subscribe_to(self, backend) -> bool:
        channel, changing = _names(backend)
        pubsub = redis_client(backend).pubsub()
        sent = time.monotonic()
        try:
            pubsub.subscribe(channel)
            # A lost connection must surface here, not be re-made quietly by redis-py's retry:
            # events sent while it was down are lost, so every cached key must go.
            pubsub.connection.retry = Retry(NoBackoff(), 0)
            reply = pubsub.get_message(timeout=settings.REDIS_TIMEOUT_SECONDS)
            if reply is None or reply.get("type") != "subscribe":
                raise RedisError("no subscription confirmed")
            in_flight = redis_client(backend).zrangebyscore(changing, time.time(), "+inf")
            poller = select.poll()
            poller.register(pubsub.connection._sock, READABLE)
        except (RedisError, OSError, AttributeError) as exc:
            log.warning("cannot hear key changes: %s", type(exc).__name__)
            self.retry_at = time.monotonic() + RESUBSCRIBE_AFTER
            shared.failed()
            pubsub.reset()
            return False
        with self.lock:
            self._lose(close=True)  # copies read while this process was not listening go
            now = time.monotonic()
            for raw in in_flight:
                self.changing[bytes(raw).decode("ascii", "replace")] = now + FLAG_TTL
            self.pubsub, self.poller, self.answered = pubsub, poller, sent
            self.subscribed_once = True
            return self._check()  # events that came after the confirmation

    def _drain(self, pubsub) -> None:
        """Apply every event received, until nothing is left in redis-py's buffer or the
        socket."""
        while True:
            message = pubsub.get_message(timeout=0)
            if message is not None:
                self._apply(message)
            elif not pubsub.connection.can_read(timeout=0):
                return

    def _lose(self, *, close: bool) -> None:
        """Trust nothing cached before now, and let the subscription go. ``close`` closes its
        connection; one inherited through fork belongs to the parent and is only let go."""
        self.epoch += 1
        self.drop_copies(None)
        if self.pubsub is not None and close:
            try:
                self.pubsub.reset()
            except (RedisError, OSError):
                pass
        self.pubsub = self.poller = self.ping_sent = None
        self.answered = -math.inf


listener = Listener()


def _caches_changed(*, setting, **kwargs) -> None:
    if setting == "CACHES":  # another Redis (tests): its channel, not the old one's
        listener.reset()


setting_changed.connect(_caches_changed)
os.register_at_fork(after_in_child=lambda: listener.reset(inherited=True))
