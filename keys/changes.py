"""How key services tell every process that a key is changing, without a Redis round trip on the
request path.

Key services announce a change before their transaction commits (``flag_change``: "begin") and
once it has (``publish_change``: "done"), on a Redis pub/sub channel; the change in flight is also
kept in a sorted set that expires by itself (a rolled-back change never says "done"). Every
process subscribes once and, before it trusts a cached key, drains what has already arrived on
that connection (``Listener.poll``: a non-blocking read, a few microseconds, no round trip).

Why that holds "at commit": "begin" is published, and written by Redis to every subscriber's
socket, before the service's transaction commits; a request that starts after the commit finds
it there. A key named in a "begin" is read from the database on every request until its "done"
(or until the flag's FLAG_TTL when the change rolled back). A process that is not subscribed
(Redis unreachable, the connection lost, a fresh fork) trusts no cached copy: it reads keys from
the database until it is subscribed again, and on (re)subscribing it drops every copy it holds
and reads the changes in flight from the sorted set, so nothing said while it was away is missed.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections.abc import Callable

from django.core.signals import setting_changed
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from fibe_access.redis import redis_backend, redis_client, uses_redis

log = logging.getLogger(__name__)
FLAG_TTL = 60  # a change flag left by a rolled-back change expires by itself
MAX_CHANGING = 1024
RESUBSCRIBE_AFTER = 1.0  # seconds between attempts when Redis cannot be reached
SUBSCRIBE_TIMEOUT = 1.0
BEGIN, DONE = "begin", "done"
READABLE = select.POLLIN | select.POLLERR | select.POLLHUP

# Called with a key's name when a notice about it is heard, or None: forget every key.
OnChange = Callable[[str | None], None]


def _names(backend) -> tuple[str, str]:
    """The channel and the in-flight set, named after the cache's key prefix and database: pub/sub
    channels are shared by every database of a Redis server."""
    db = redis_client(backend).connection_pool.connection_kwargs.get("db", 0)
    base = backend.make_and_validate_key(f"fibe:keys:{db}")
    return f"{base}:changes", f"{base}:changing"


def flag_change(key_name: str) -> None:
    """Until ``publish_change``, no process trusts a cached copy of the key."""
    listener.heard(BEGIN, key_name)
    announce(BEGIN, key_name)


def publish_change(key_name: str) -> None:
    """The change has committed: every process drops its copy and trusts the key's next read."""
    listener.heard(DONE, key_name)
    announce(DONE, key_name)


def announce(kind: str, key_name: str) -> None:
    """Tell every process (``flag_change`` and ``publish_change`` also apply it here at once,
    before Redis echoes it back)."""
    backend = redis_backend()
    if backend is None:
        return
    channel, changing = _names(backend)
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
    except RedisError as exc:  # every process then reads keys from the database anyway
        log.warning("could not announce a key change: %s", type(exc).__name__)


class Listener:
    """This process's subscription to the change channel, and the keys it must not trust."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.pubsub = None
        self.poller = None  # select.poll on the subscription's socket
        self.retry_at = 0.0
        self.changing: dict[str, float] = {}  # key name -> monotonic time its flag lapses
        self.epoch = 0  # moves on with every notice heard: a read older than a notice is stale
        self.on_change: OnChange = lambda name: None

    def heard(self, kind: str, key_name: str) -> None:
        with self.lock:
            self.epoch += 1
            if kind == BEGIN:
                now = time.monotonic()
                if len(self.changing) >= MAX_CHANGING:  # flags of rolled-back changes lapse
                    self.changing = {n: t for n, t in self.changing.items() if t > now}
                self.changing[key_name] = now + FLAG_TTL
            else:
                self.changing.pop(key_name, None)
            self.on_change(key_name)

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
        """Apply every notice that has arrived. True when this process is subscribed (its cached
        keys may be trusted), False when it is not (read keys from the database)."""
        with self.lock:  # a thread draining notices finishes before another trusts a copy
            if self.pubsub is None:
                backend = redis_backend() if uses_redis() else None
                if backend is None or not self._subscribe(backend):
                    return False
            try:
                # Nothing is left in redis-py's buffer after a drain, so an idle socket means
                # nothing new (a sub-microsecond check); otherwise drain what has arrived.
                if self.poller.poll(0):
                    self._drain(self.pubsub)
            except (RedisError, OSError, ValueError) as exc:
                log.warning("key change channel lost: %s", type(exc).__name__)
                self._forget_all(drop=True)
                return False
            return True

    def reset(self, *, inherited: bool = False) -> None:
        """Start over: trust nothing cached, subscribe again on the next poll. ``inherited``:
        in a forked child, whose connection belongs to the parent."""
        if inherited:
            self.lock = threading.RLock()
        with self.lock:
            self._forget_all(drop=not inherited)
            self.retry_at = 0.0

    def _apply(self, message: dict) -> None:
        if message.get("type") == "subscribe":  # subscribed again: notices may have been missed
            raise RedisError("resubscribed")
        if message.get("type") != "message":
            return
        kind, _, key_name = bytes(message["data"]).decode("ascii", "replace").partition(":")
        if kind in (BEGIN, DONE) and key_name:
            self.heard(kind, key_name)

    def _subscribe(self, backend) -> bool:
        """Subscribe, then read the changes in flight; False (and retry later) on failure."""
        self._forget_all(drop=True)
        now = time.monotonic()
        if now < self.retry_at:
            return False
        channel, changing = _names(backend)
        pubsub = redis_client(backend).pubsub()
        try:
            pubsub.subscribe(channel)
            # A lost connection must surface here, not be re-made quietly by redis-py's retry:
            # notices sent while it was down are lost, so every cached key must go.
            pubsub.connection.retry = Retry(NoBackoff(), 0)
            reply = pubsub.get_message(timeout=SUBSCRIBE_TIMEOUT)
            if reply is None or reply.get("type") != "subscribe":
                raise RedisError("no subscription confirmed")
            for raw in redis_client(backend).zrangebyscore(changing, time.time(), "+inf"):
                self.changing[bytes(raw).decode("ascii", "replace")] = now + FLAG_TTL
            self._drain(pubsub)  # notices that came after the confirmation
            poller = select.poll()
            poller.register(pubsub.connection._sock, READABLE)
        except (RedisError, OSError, AttributeError) as exc:
            log.warning("cannot hear key changes: %s", type(exc).__name__)
            self.retry_at = now + RESUBSCRIBE_AFTER
            pubsub.reset()
            return False
        self.pubsub, self.poller = pubsub, poller
        return True

    def _drain(self, pubsub) -> None:
        """Apply every notice received, until nothing is left in redis-py's buffer or the
        socket."""
        while True:
            message = pubsub.get_message(timeout=0)
            if message is not None:
                self._apply(message)
            elif not pubsub.connection.can_read(timeout=0):
                return

    def _forget_all(self, *, drop: bool) -> None:
        """Trust nothing cached before now. ``drop`` closes the connection; a connection
        inherited through fork belongs to the parent and is only let go."""
        self.epoch += 1
        self.on_change(None)
        if self.pubsub is not None and drop:
            try:
                self.pubsub.reset()
            except (RedisError, OSError):
                pass
        self.pubsub = self.poller = None


listener = Listener()


def _caches_changed(*, setting, **kwargs) -> None:
    if setting == "CACHES":  # another Redis (tests): its channel, not the old one's
        listener.reset()


setting_changed.connect(_caches_changed)
os.register_at_fork(after_in_child=lambda: listener.reset(inherited=True))
