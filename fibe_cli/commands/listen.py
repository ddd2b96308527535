"""`fibe listen --forward-to URL`: the account's events on a laptop, without a public URL.

Opens a listen session (``POST /webhooks/sessions``), long-polls its events with a cursor
(outbound only) and POSTs each to the local URL with the body and headers a real delivery has,
signed with the session secret printed at start. A lost connection to the API is retried from
the same cursor (nothing lost, nothing twice); a local receiver that is down is reported and
retried a few times, then the event is skipped. Each forward's outcome (local status, duration,
tries, error) is reported back (``POST …/sessions/{id}/deliveries``) for the account's delivery
log; a report the API did not take is sent again with the next. Ctrl-C ends the session and
exits 130."""

from __future__ import annotations

import json
import socket
import sys
import time
from datetime import datetime

import click
import requests

from .. import config
from ..client import Api
from ..errors import NOT_FOUND, UNREACHABLE, CliError, keep_secret

WAIT = 25  # seconds a poll waits on the server for an event
FORWARD_TRIES = 4  # attempts at the local URL per event
FORWARD_BACKOFF = (0.5, 1.0, 2.0)  # seconds between them
RECONNECT_BACKOFF = (0.5, 1.0, 2.0, 5.0)  # seconds between polls while the API is unreachable
FORWARD_TIMEOUT = (5, 30)
REPORT_BATCH = 100  # outcomes in one report (the server's limit)
REPORT_KEEP = 1000  # outcomes kept while the API cannot take them; older ones are dropped


@click.command("listen")
@click.option("--forward-to", "forward_to", required=True, help="Local URL to POST events to.")
@click.option("--events", default="", help="Comma-separated events (default: all you may get).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line on stdout.")
def command(forward_to: str, events: str, as_json: bool) -> None:
    """Receive the account's webhook events here and forward them to a local URL, signed with
    a session secret (needs webhooks:read). Ctrl-C to stop."""
    if not forward_to.startswith(("http://", "https://")):
        raise click.BadParameter("must be an http:// or https:// URL", param_hint="--forward-to")
    api = Api(config.resolve())
    wanted = [e.strip() for e in events.split(",") if e.strip()]
    session = api.call(
        "POST", "/webhooks/sessions", body={"events": wanted, "host": socket.gethostname()}
    )
    keep_secret(session["secret"])
    _start(session, forward_to, as_json)
    reports = Reports(api, session)
    try:
        _run(api, session, forward_to, as_json, reports)
    except KeyboardInterrupt:
        _end(api, session, reports)
        raise


def _start(session: dict, forward_to: str, as_json: bool) -> None:
    if as_json:
        shown = {k: session[k] for k in ("id", "events", "standard_secret", "secret")}
        _emit({"session": shown, "forward_to": forward_to})
        return
    _line(f"Ready. Forwarding {', '.join(session['events'])} to {forward_to}")
    _line(f"Signing secret (Standard Webhooks): {session['standard_secret']}")
    _line(f"X-Playground-Signature secret: {session['secret']}")
    _line("Ctrl-C to stop.")


class Reports:
    """Outcomes waiting to be reported to the server's delivery log, sent in batches."""

    def __init__(self, api: Api, session: dict):
        self.api, self.pending = api, []
        self.path = f"/webhooks/sessions/{session['id']}/deliveries"

    def add(self, message: dict, outcome: dict) -> None:
        self.pending.append(
            {
                "id": message["id"],
                "status": outcome["status"],
                "duration_ms": outcome["duration_ms"],
                "tries": outcome["tries"],
                "error": outcome.get("error", ""),
            }
        )
        del self.pending[:-REPORT_KEEP]

    def send(self) -> None:
        """Report what is pending; kept for the next call when the API is unreachable."""
        while self.pending:
            batch = self.pending[:REPORT_BATCH]
            try:
                self.api.call("POST", self.path, body={"results": batch})
            except CliError as exc:
                if exc.code == UNREACHABLE or exc.message.startswith("The server answered 5"):
                    return  # the poll reports the lost API; these go with the next report
                _note(f"The delivery log refused a report ({exc.message}).")
            del self.pending[: len(batch)]


def _run(api: Api, session: dict, forward_to: str, as_json: bool, reports: Reports) -> None:
    cursor, lost = 0, 0
    path = f"/webhooks/sessions/{session['id']}/events"
    forwarder = requests.Session()
    forwarder.trust_env = False
    while True:
        try:
            answer = api.call("GET", path, params={"cursor": cursor, "wait": WAIT})
        except CliError as exc:
            if exc.code == NOT_FOUND:
                raise CliError("The listen session ended on the server.", NOT_FOUND) from None
            if exc.code != UNREACHABLE and not exc.message.startswith("The server answered 5"):
                raise
            delay = RECONNECT_BACKOFF[min(lost, len(RECONNECT_BACKOFF) - 1)]
            lost += 1
            _note(f"Lost the API ({exc.message}); resuming from cursor {cursor} in {delay} s.")
            time.sleep(delay)
            continue
        if lost:
            _note("Reconnected.")
            lost = 0
        for message in answer["events"]:
            outcome = _forward(forwarder, forward_to, message)
            reports.add(message, outcome)
            _report(message, outcome, as_json)
        reports.send()
        cursor = answer["cursor"]


def _forward(forwarder: requests.Session, url: str, message: dict) -> dict:
    body = message["body"].encode()
    error = ""
    for attempt in range(FORWARD_TRIES):
        if attempt:
            time.sleep(FORWARD_BACKOFF[min(attempt - 1, len(FORWARD_BACKOFF) - 1)])
        started = time.monotonic()
        try:
            response = forwarder.post(
                url,
                data=body,
                headers=message["headers"],
                timeout=FORWARD_TIMEOUT,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            error = _reason(exc)
            _note(f"{message['event']} {message['id']}: {url} is down ({error}), try {attempt + 1}")
            continue
        duration = int((time.monotonic() - started) * 1000)
        return {"status": response.status_code, "duration_ms": duration, "tries": attempt + 1}
    return {"status": None, "error": error, "tries": FORWARD_TRIES, "duration_ms": None}


def _report(message: dict, outcome: dict, as_json: bool) -> None:
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    if as_json:
        _emit({"time": now, "event": message["event"], "id": message["id"], **outcome})
        return
    if outcome["status"] is None:
        result = f"failed: {outcome['error']} (after {outcome['tries']} tries)"
    else:
        result = f"{outcome['status']} in {outcome['duration_ms']} ms"
    _line(f"{now}  {message['event']:<22} {message['id']}  -> {result}")


def _end(api: Api, session: dict, reports: Reports) -> None:
    try:
        reports.send()
        api.call("DELETE", f"/webhooks/sessions/{session['id']}")
    except (CliError, requests.RequestException):
        pass  # it expires on its own when no longer polled
    _note("Listen session ended.")


def _reason(exc: Exception) -> str:
    text = str(exc)
    for known in ("Connection refused", "timed out", "Name or service not known"):
        if known in text:
            return known
    return type(exc).__name__


def _emit(data: dict) -> None:
    _line(json.dumps(data, separators=(",", ":")))


def _line(text: str) -> None:
    print(text, flush=True)


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
