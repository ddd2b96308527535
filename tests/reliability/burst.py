"""A burst of concurrent API writes, each publishing an event to a loopback receiver.

N clients × M ``POST /api/v1/playrooms`` with one key, after registering one webhook endpoint
subscribed to ``playroom.created`` on a receiver in this process; then waits for the events
and says how many writes answered 2xx and how many events arrived, once or more.
``tests/reliability/test_embedded_default.py`` runs it against ``make run`` in a temp folder;
run it yourself against any running app (the key needs playrooms:write and webhooks:write):

    .venv/bin/python -m tests.reliability.burst --url http://127.0.0.1:8000 --token fibe_…
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import requests

from tests.support.servers import Receiver


@dataclass
class Burst:
    statuses: Counter = field(default_factory=Counter)
    created: list[int] = field(default_factory=list)  # playroom ids answered 201
    errors: list[str] = field(default_factory=list)  # the first non-2xx bodies, transport errors
    unanswered: int = 0  # writes that got no HTTP answer
    seconds: float = 0.0
    events: Counter = field(default_factory=Counter)  # playroom id -> deliveries received

    @property
    def writes(self) -> int:
        return sum(self.statuses.values()) + self.unanswered

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def missing(self) -> set[int]:
        return set(self.created) - set(self.events)

    @property
    def duplicated(self) -> int:
        return sum(n - 1 for n in self.events.values() if n > 1)

    def summary(self) -> str:
        return (
            f"writes 2xx {self.ok}/{self.writes} in {self.seconds:.1f} s "
            f"({self.writes / max(self.seconds, 1e-9):.0f}/s), statuses {dict(self.statuses)}, "
            f"unanswered {self.unanswered}; "
            f"events arrived {len(set(self.created) & set(self.events))}/{len(self.created)}, "
            f"duplicates {self.duplicated}, missing {len(self.missing)}, "
            f"unexpected {len(set(self.events) - set(self.created))}"
        )


def endpoint_register(base_url: str, token: str, target: str) -> int:
    response = requests.post(
        f"{base_url}/api/v1/webhooks",
        json={"url": target, "events": ["playroom.created"], "description": "burst receiver"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["id"]


def writes_burst(base_url: str, token: str, clients: int, writes: int, result: Burst) -> None:
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(number: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        start.wait()
        for i in range(writes):
            try:
                response = session.post(
                    f"{base_url}/api/v1/playrooms", json={"name": f"burst {number}-{i}"}, timeout=60
                )
            except requests.RequestException as exc:
                with lock:
                    result.unanswered += 1
                    result.errors.append(f"no answer: {exc}")
                continue
            with lock:
                result.statuses[response.status_code] += 1
                if response.status_code == 201:
                    result.created.append(response.json()["id"])
                elif len(result.errors) < 20:
                    result.errors.append(f"{response.status_code}: {response.text[:300]}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - began


def events_tally(receiver: Receiver, result: Burst) -> None:
    result.events.clear()
    for received in list(receiver.received):
        body = json.loads(received.body)
        if body.get("event") == "playroom.created":
            result.events[body["data"]["id"]] += 1


def run(
    base_url: str,
    token: str,
    *,
    clients: int = 8,
    writes: int = 40,
    receiver: Receiver,
    wait: float = 120,
    settle: float = 6,
) -> Burst:
    """The whole burst; ``settle`` seconds more after the last expected event (longer than
    beat's 5 s scan) so a duplicate has time to show."""
    endpoint_register(base_url, token, receiver.url)
    result = Burst()
    writes_burst(base_url, token, clients, writes, result)
    receiver.wait_for(len(result.created), wait)
    time.sleep(settle)
    events_tally(receiver, result)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("FIBE_API_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("FIBE_API_KEY"), required=False)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--writes", type=int, default=40, help="per client")
    parser.add_argument("--wait", type=float, default=120, help="seconds to wait for events")
    args = parser.parse_args()
    if not args.token:
        parser.error("--token (or FIBE_API_KEY) is required")
    receiver = Receiver()
    try:
        result = run(
            args.url.rstrip("/"),
            args.token,
            clients=args.clients,
            writes=args.writes,
            receiver=receiver,
            wait=args.wait,
        )
    finally:
        receiver.stop()
    print(result.summary())
    for error in result.errors[:5]:
        print("  ", error)
    clean = result.ok == args.clients * args.writes and not result.missing and not result.duplicated
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
