"""Exit codes and the one error every command raises: printed on stderr, never a traceback."""

from __future__ import annotations

import re

OK = 0
ERROR = 1  # the API refused or failed the request; a signature that does not verify
USAGE = 2  # a bad command line, or a delete not confirmed
UNREACHABLE = 3  # no answer from FIBE_API_URL (network error, bad URL, not a Fibe API)
AUTH = 4  # no key, or a key the API refused (malformed, unknown, expired, revoked)
FORBIDDEN = 5  # the key lacks the scope the operation needs
NOT_FOUND = 6  # no such record, or one outside the key's restriction
RATE_LIMITED = 7  # the key's requests per minute are spent
CONFLICT = 8  # the record's state refuses the request (a running playground cannot be started)
NOT_CONFIRMED = 9  # a destructive call a person did not approve (--no-wait, denied, lapsed)
INTERRUPTED = 130  # Ctrl-C

EXIT_CODES_HELP = f"""\b
Exit codes:
  {OK}    ok
  {ERROR}    error: the API refused or failed the request, or a signature did not verify
  {USAGE}    usage: a bad command line, or a delete not confirmed
  {UNREACHABLE}    cannot reach the API at FIBE_API_URL
  {AUTH}    no API key, or the key was refused (run `fibe auth login`)
  {FORBIDDEN}    forbidden: the key lacks the scope the command needs
  {NOT_FOUND}    not found (or outside the key's restriction)
  {RATE_LIMITED}    rate limited: the key's requests per minute are spent
  {CONFLICT}    conflict: the record's state refuses it (the API's 409)
  {NOT_CONFIRMED}    not confirmed: the key needs a person to approve destructive calls, and
       they have not (with --no-wait), denied it, or let it lapse (10 minutes)
  {INTERRUPTED}  interrupted (Ctrl-C)"""


class CliError(Exception):
    """A failure to report in one line on stderr and exit with ``code``."""

    def __init__(self, message: str, code: int = ERROR, *, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code
        self.hint = hint


class ConfirmationNeeded(CliError):  # noqa: N818 - the API's confirmation_required
    """A destructive call waiting for a person's approval at ``url``."""

    def __init__(self, message: str, *, url: str, confirmation_id):
        super().__init__(message, NOT_CONFIRMED, hint=f"Approve or deny it at {url}")
        self.url = url
        self.confirmation_id = confirmation_id


_SECRETS: set[str] = set()


def keep_secret(value: str) -> None:
    """Never print ``value``: ``redact`` blanks it out of every message."""
    if value:
        _SECRETS.add(value)


# The shape of a Fibe API key (fibe_ + base62), e.g. one pasted as an argument by mistake.
TOKEN_SHAPE = re.compile(r"fibe_[0-9A-Za-z]{20,}")


def redact(text: str) -> str:
    """``text`` without any secret the CLI has read, nor anything shaped like a key."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return TOKEN_SHAPE.sub("[redacted]", text)
