"""Destructive calls a person must approve (the key's "Confirm destructive actions"): the API
answers 403 ``confirmation_required`` with a URL. ``call`` prints it on stderr and, unless told
not to wait, repeats the same call every few seconds until it goes through (approved), or a
new confirmation is asked (the first was denied or lapsed): then exit code NOT_CONFIRMED."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from .client import Api
from .errors import NOT_CONFIRMED, CliError, ConfirmationNeeded

POLL_SECONDS = 3.0  # FIBE_CONFIRM_POLL_SECONDS overrides it (between 0.2 and 60)


def _poll_seconds() -> float:
    try:
        value = float(os.environ.get("FIBE_CONFIRM_POLL_SECONDS", POLL_SECONDS))
    except ValueError:
        value = POLL_SECONDS
    return min(max(value, 0.2), 60.0)


def call(api: Api, method: str, path: str, *, params=None, body=None, wait: bool = True) -> Any:
    try:
        return api.call(method, path, params=params, body=body)
    except ConfirmationNeeded as needed:
        if not wait:
            raise
        asked = needed
    _say(
        f"A person must approve this call first. Open:\n  {asked.url}\n"
        "Waiting for approval (Ctrl-C to stop; the request lapses in 10 minutes)…"
    )
    while True:
        time.sleep(_poll_seconds())
        try:
            return api.call(method, path, params=params, body=body)
        except ConfirmationNeeded as again:
            if again.confirmation_id != asked.confirmation_id:
                raise CliError(
                    "Not done: the approval was denied or lapsed; nothing was changed.",
                    NOT_CONFIRMED,
                    hint=f"A new request is waiting at {again.url}",
                ) from None


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
