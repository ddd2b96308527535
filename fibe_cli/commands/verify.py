"""`fibe webhooks verify`: check a delivery's signatures as a receiver would, with the very
functions the server signs with (``webhooks/signing.py``, pure), so they cannot drift.

Both schemes: ``X-Playground-Signature: sha256=<hex>`` over the raw body, and the Standard
Webhooks trio (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64>`` over
``id.timestamp.body``), whose timestamp must lie within a tolerance of now (default 5 minutes,
as the standardwebhooks library), so a replayed delivery fails."""

from __future__ import annotations

import hmac
import sys
import time

import click

from webhooks.signing import github_signature, standard_signature

from .. import output
from ..errors import ERROR, USAGE, CliError

PARENT = "webhooks"
TOLERANCE = 300


class Invalid(Exception):
    """The body does not verify; the message says why."""


def verify_github(secret: str, body: bytes, signature: str) -> None:
    """``signature`` may list several (``sha256=… sha256=…`` while a secret rotation
    overlaps): one of them must match."""
    expected = github_signature(secret, body)
    if not any(hmac.compare_digest(expected, g.lower()) for g in signature.split()):
        raise Invalid("the sha256 signature does not match this body and secret")


def verify_standard(
    secret: str,
    body: bytes,
    signature: str,
    *,
    msg_id: str,
    timestamp: int,
    tolerance: int = TOLERANCE,
    now: float | None = None,
) -> None:
    age = int(time.time() if now is None else now) - timestamp
    if age > tolerance:
        raise Invalid(f"the timestamp is {age} s old (tolerance {tolerance} s): a replay?")
    if -age > tolerance:
        raise Invalid(f"the timestamp is {-age} s in the future (tolerance {tolerance} s)")
    expected = standard_signature(secret, msg_id, timestamp, body).partition(",")[2]
    given = [s.partition(",")[2] for s in signature.split() if s.startswith("v1,")]
    if not any(hmac.compare_digest(expected, g) for g in given):
        raise Invalid("the v1 signature does not match this id, timestamp, body and secret")


@click.command("verify")
@click.option(
    "--secret",
    envvar="FIBE_WEBHOOK_SECRET",
    show_envvar=True,
    required=True,
    help="The endpoint's secret.",
)
@click.option(
    "--signature",
    "signatures",
    multiple=True,
    required=True,
    metavar="SIGNATURE",
    help="X-Playground-Signature ('sha256=…') or webhook-signature ('v1,…'); repeatable: "
    "every one given must verify.",
)
@click.option("--id", "msg_id", metavar="ID", help="webhook-id (for a v1 signature).")
@click.option("--timestamp", type=int, metavar="SECONDS", help="webhook-timestamp (for v1).")
@click.option(
    "--tolerance",
    type=click.IntRange(min=0),
    default=TOLERANCE,
    show_default=True,
    help="Seconds the v1 timestamp may differ from now.",
)
@click.option(
    "--file",
    "body_file",
    type=click.File("rb"),
    help="Read the raw body from this file instead of standard input.",
)
def command(secret, signatures, msg_id, timestamp, tolerance, body_file) -> None:
    """Check a webhook delivery's signatures: the raw body on standard input (or --file).

    Exits 0 when every signature given verifies, 1 with the reason when one does not.

    \b
    fibe webhooks verify --secret "$SECRET" --signature 'sha256=…' < body.json
    fibe webhooks verify --signature 'v1,…' --id msg_… --timestamp 1700000000 < body.json"""
    if body_file is None and sys.stdin.isatty():
        raise CliError("Pipe the raw body on standard input, or pass --file.", USAGE)
    body = (body_file or sys.stdin.buffer).read()
    checked = []
    for signature in signatures:
        try:
            if signature.startswith("sha256="):
                verify_github(secret, body, signature)
                checked.append("sha256")
            elif signature.startswith("v1,"):
                if msg_id is None or timestamp is None:
                    raise CliError("A v1 signature needs --id and --timestamp.", USAGE)
                verify_standard(
                    secret,
                    body,
                    signature,
                    msg_id=msg_id,
                    timestamp=timestamp,
                    tolerance=tolerance,
                )
                checked.append("v1")
            else:
                raise CliError(
                    f"Unknown signature scheme: {signature[:12]!r}…; expected 'sha256=…' or "
                    "'v1,…'.",
                    USAGE,
                )
        except Invalid as exc:
            raise CliError(f"Invalid: {exc}.", ERROR) from None
    output.message(f"Valid: {' and '.join(checked)} signature{'s' * (len(checked) > 1)} verified.")
