"""The two doors through which a leaked token is reported (issue 24). Neither needs an API key.

``POST /api/v1/credentials/revoke`` — anyone: ``{"credentials": ["fibe_…", …]}`` (at most
LEAK_REPORT_MAX_TOKENS). The answer is the same 202 whatever the tokens were, so it tells
nobody whether a token was valid; the endpoint is rate-limited per client address.

``POST /api/v1/secret-scanning/github`` — GitHub's secret-scanning partner messages, signed by
GitHub (``keys.github_scanning``): ``[{"token", "type", "url", "source"}]``. The answer is
GitHub's feedback format: ``[{"token_hash", "token_type", "label"}]``."""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from fibe_access.accounts.actor import Actor, client_ip

from . import github_scanning, leaks

ACCEPTED = {
    "code": "accepted",
    "message": "Thank you. Every valid Fibe API key in the report is revoked and its owner told.",
}


class Refused(Exception):  # noqa: N818
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}

    def response(self) -> JsonResponse:
        response = JsonResponse({"code": self.code, "message": self.message}, status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


def _post_only(request) -> None:
    if request.method != "POST":
        raise Refused(405, "method_not_allowed", "Send the report with POST.", {"Allow": "POST"})


def _body(request, limit: int) -> bytes:
    """The raw body, refused before it is read when it says it is larger than ``limit``."""
    too_large = Refused(413, "too_large", f"The body is larger than {limit // 1024} KiB.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_large
    try:
        raw = request.body
    except RequestDataTooBig:
        raise too_large from None
    if len(raw) > limit:
        raise too_large
    return raw


def _json(raw: bytes):
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise Refused(400, "bad_request", "The body is not valid JSON.") from None


def _actor(request, source: str) -> Actor:
    return Actor(
        user=None,
        source=source,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
    )


@csrf_exempt
def credentials_revoke(request):
    try:
        _post_only(request)
        if not leaks.report_allowed(client_ip(request)):
            raise Refused(
                429, "rate_limited", "Too many reports from this address.", {"Retry-After": "60"}
            )
        data = _json(_body(request, settings.LEAK_REPORT_MAX_BYTES))
        credentials = data.get("credentials") if isinstance(data, dict) else None
        limit = settings.LEAK_REPORT_MAX_TOKENS
        if (
            not isinstance(credentials, list)
            or len(credentials) > limit
            or not all(isinstance(c, str) for c in credentials)
        ):
            raise Refused(
                422,
                "invalid",
                f'Send {{"credentials": ["fibe_…", …]}}: a list of at most {limit} tokens.',
            )
    except Refused as refused:
        return refused.response()
    where = f"{leaks.PUBLIC_ENDPOINT} (from {client_ip(request) or 'an unknown address'})"
    leaks.keys_revoke_reported(
        actor=_actor(request, leaks.FROM_PUBLIC),
        reports=[leaks.Report(token=c, where=where) for c in credentials],
    )
    return JsonResponse(ACCEPTED, status=202)


def _matches(data) -> list[dict]:
    limit = settings.GITHUB_SECRET_SCANNING_MAX_MATCHES
    if (
        not isinstance(data, list)
        or len(data) > limit
        or not all(isinstance(m, dict) and isinstance(m.get("token"), str) for m in data)
    ):
        raise Refused(
            422,
            "invalid",
            f'Send a list of at most {limit} matches: [{{"token", "type", "url", "source"}}].',
        )
    return data


def _where(match: dict) -> str:
    url = match.get("url")
    if _plain(url) and url.startswith("https://") and len(url) <= 2000:
        return url
    source = match.get("source")
    return f"GitHub secret scanning ({source[:40]})" if _plain(source) else "GitHub secret scanning"


def _plain(text) -> bool:
    """Printable ASCII: safe in a mail, a log line and a JSON column."""
    return isinstance(text, str) and text.isascii() and text.isprintable()


@csrf_exempt
def github_secret_scanning(request):
    try:
        _post_only(request)
        raw = _body(request, settings.GITHUB_SECRET_SCANNING_MAX_BYTES)
        if not github_scanning.verify(
            raw,
            request.headers.get(github_scanning.KEY_ID_HEADER, ""),
            request.headers.get(github_scanning.SIGNATURE_HEADER, ""),
        ):
            raise Refused(
                401, "invalid_signature", "The message is not signed by a known GitHub key."
            )
        matches = _matches(_json(raw))
    except Refused as refused:
        return refused.response()
    outcome = leaks.keys_revoke_reported(
        actor=_actor(request, leaks.FROM_GITHUB),
        reports=[leaks.Report(token=m["token"], where=_where(m)) for m in matches],
    )
    feedback = []
    for match in matches:
        digest = hashlib.sha256(match["token"].encode("utf-8", "surrogatepass")).hexdigest()
        feedback.append(
            {
                "token_hash": digest,
                "token_type": str(match.get("type") or "fibe_api_key")[:100],
                "label": "true_positive" if digest in outcome.known else "false_positive",
            }
        )
    return JsonResponse(feedback, safe=False, status=200)
