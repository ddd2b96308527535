"""Send: each lane's deliveries in turn on a thread of the process's sending pool, accounts in
parallel, each attempt signed and POSTed within its deadline. Touches no database (the
claiming thread records), so any thread may send."""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from queue import SimpleQueue

from django.conf import settings

from .. import signing
from ..models import Delivery
from . import transport
from .claim import Lane

logger = logging.getLogger(__name__)
_pool: tuple[int, ThreadPoolExecutor] | None = None


@dataclass(frozen=True)
class Outcome:
    """What one attempt sent and got back; ``trigger`` as it was when the attempt was made."""

    delivery: Delivery
    trigger: str
    headers: dict[str, str]
    body: bytes
    response: transport.Response


def attempt(delivery: Delivery) -> Outcome:
    """Sign and POST one attempt; never raises."""
    endpoint, event = delivery.endpoint, delivery.event
    body, headers = bytes(event.body), {}
    try:
        headers = signing.signed_headers(
            event=event.type,
            delivery_id=str(delivery.uid),
            secret=endpoint.signing_secrets(),
            body=body,
            timestamp=int(time.time()),
        )
        response = transport.post(endpoint.url, body=body, headers=headers)
    except Exception as exc:  # noqa: BLE001 - a bug here must still leave an attempt row
        logger.error("webhook delivery %s: sending failed (%s)", delivery.uid, type(exc).__name__)
        response = transport.Response(
            status=None, failure_reason=f"Internal error while sending ({type(exc).__name__})."
        )
    return Outcome(delivery, delivery.next_trigger, headers, body, response)


def _executor() -> ThreadPoolExecutor:
    """One pool of sending threads per process (made after a prefork worker forks), so each
    thread keeps its connections alive from one batch to the next."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        workers = max(1, settings.WEBHOOKS_SEND_THREADS)
        _pool = (os.getpid(), ThreadPoolExecutor(workers, thread_name_prefix="webhook-send"))
    return _pool[1]


def lanes_send(lanes: list[Lane], window_end: float, outcomes: SimpleQueue) -> list[Future]:
    """Start every lane; each puts its outcomes on ``outcomes`` as they come, and its future's
    result is the deliveries it had no time to send (the window closed first)."""
    return [_executor().submit(_lane_send, lane, window_end, outcomes) for lane in lanes]


def _lane_send(lane: Lane, window_end: float, outcomes: SimpleQueue) -> list[Delivery]:
    """The lane's slots are freed as soon as it is done, not when the slowest lane of the batch
    is (the account's next event goes out meanwhile)."""
    try:
        for index, delivery in enumerate(lane.deliveries):
            if time.monotonic() > window_end:
                return lane.deliveries[index:]
            outcomes.put(attempt(delivery))
        return []
    finally:
        lane.release()
