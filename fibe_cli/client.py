"""The API over HTTP: one request, its answer as JSON, or a ``CliError`` that says what went
wrong in the API's own words, with the exit code for it. The key is sent as a Bearer header,
never followed through a redirect, and never part of a message."""

from __future__ import annotations

import re
import sys
from typing import Any

import requests

from .config import LOGIN_HINT, Credentials, plain_http_warning
from .errors import (
    AUTH,
    CONFLICT,
    ERROR,
    FORBIDDEN,
    NOT_FOUND,
    RATE_LIMITED,
    UNREACHABLE,
    CliError,
    ConfirmationNeeded,
)

BASE_PATH = "/api/v1"
TIMEOUT = (10, 60)  # connect, read (seconds)
USER_AGENT = "fibe-cli/1"
_STATUS_CODES = {401: AUTH, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT, 429: RATE_LIMITED}


class Api:
    def __init__(self, creds: Credentials):
        self.creds = creds
        # Every command that sends the key builds its Api first: warn before anything is sent.
        if warning := plain_http_warning(creds.url):
            print(warning, file=sys.stderr)
        self.session = requests.Session()
        self.session.trust_env = False  # no ~/.netrc: the key below is the only credential
        self.session.headers.update(
            {
                "Authorization": f"Bearer {creds.key}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        )

    def call(self, method: str, path: str, *, params: dict | None = None, body: Any = None) -> Any:
        """Send one request to ``/api/v1`` + ``path``; the answer's JSON (None for 204)."""
        url = self.creds.url + BASE_PATH + path
        try:
            response = self.session.request(
                method,
                url,
                params={k: _query_value(v) for k, v in (params or {}).items() if v is not None},
                json=body,
                timeout=TIMEOUT,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise CliError(
                f"The API at {self.creds.url} did not answer in time.", UNREACHABLE
            ) from None
        except requests.RequestException as exc:
            raise CliError(
                f"Cannot reach the API at {self.creds.url}: {_reason(exc)}.",
                UNREACHABLE,
                hint=f"Is the server running? (URL from {self.creds.url_source})",
            ) from None
        return self._answer(response)

    def _answer(self, response: requests.Response) -> Any:
        status = response.status_code
        if 300 <= status < 400:
            raise CliError(
                f"The server redirected to {response.headers.get('Location', '?')[:200]}; "
                "the key is not sent through redirects.",
                UNREACHABLE,
                hint="Set FIBE_API_URL to the address it redirects to.",
            )
        if status == 204 and response.ok:
            return None
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.ok:
            if data is None:
                raise CliError(
                    f"The answer from {self.creds.url} is not JSON: is it a Fibe server?",
                    UNREACHABLE,
                )
            return data
        raise self._error(response, data)

    def _error(self, response: requests.Response, data: Any) -> CliError:
        status = response.status_code
        if not (isinstance(data, dict) and isinstance(data.get("message"), str)):
            return CliError(
                f"The server answered {status} {response.reason or ''}".rstrip() + " (not JSON).",
                ERROR if status != 404 else UNREACHABLE,
                hint="Is FIBE_API_URL a Fibe server?" if status == 404 else "",
            )
        message = data["message"]
        if status == 403 and data.get("code") == "confirmation_required":
            return ConfirmationNeeded(
                message,
                url=str(data.get("confirmation_url", ""))[:500],
                confirmation_id=data.get("confirmation_id"),
            )
        problems = data.get("errors") if status == 422 else None
        if isinstance(problems, list) and len(problems) > 1:
            message += "".join(
                f"\n  {p.get('field') or 'body'}: {p.get('message')}"
                for p in problems[1:]
                if isinstance(p, dict)
            )
        code, hint = _STATUS_CODES.get(status, ERROR), ""
        if status == 401:
            message = f"The API key ({self.creds.key_source}) was refused: {message}"
            hint = LOGIN_HINT
        elif status == 429:
            hint = f"Retry after {response.headers.get('Retry-After', 'a few')} seconds."
        return CliError(message, code, hint=hint)


def _reason(exc: requests.RequestException) -> str:
    """The root cause of a network error in a few words ("Connection refused")."""
    text = str(exc)
    found = re.findall(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if found:
        return found[-1].strip()
    return type(exc).__name__


def _query_value(value: Any) -> Any:
    """A boolean as OpenAPI writes one in a query (true/false; requests would send True)."""
    return str(value).lower() if isinstance(value, bool) else value
