"""Sessions that know their account: django-qsessions' store (a row per session with its user,
IP address and user agent), so the Security page lists an account's sessions from an indexed
foreign key, never a scan of every session row.

The middleware records the client address as the rest of the project sees it (``client_ip``,
proxies included) and marks a signed-in session active at most once a minute, so "last
active" means something without a write per request. A session's public id is an HMAC of its
key: the page never shows the key, which is the cookie itself."""

from __future__ import annotations

import time

from django.conf import settings
from django.utils.crypto import salted_hmac
from qsessions.middleware import SessionMiddleware as QSessionMiddleware

from .actor import client_ip

LAST_ACTIVE_KEY = "fibe_last_active"
TOUCH_EVERY_SECONDS = 60


def public_id(session_key: str) -> str:
    return salted_hmac("fibe_access.accounts.sessions.public_id", session_key).hexdigest()[:24]


def describe_agent(user_agent: str | None) -> dict:
    """Browser and operating system from a user agent ("Firefox 132", "Ubuntu")."""
    if not user_agent:
        return {"browser": "Unknown browser", "os": "unknown system"}
    from ua_parser import parse  # its regexes load on first use: only pages that list sessions

    found = parse(user_agent)
    agent, system = found.user_agent, found.os
    browser = f"{agent.family} {agent.major}".strip() if agent else "Unknown browser"
    return {"browser": browser, "os": system.family if system else "unknown system"}


class SessionMiddleware(QSessionMiddleware):
    def process_request(self, request):
        request.session = self.SessionStore(
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
            session_key=request.COOKIES.get(settings.SESSION_COOKIE_NAME),
        )

    def process_response(self, request, response):
        session = getattr(request, "session", None)
        if session is not None and session.accessed and not session.is_empty():
            now = int(time.time())
            if now - int(session.get(LAST_ACTIVE_KEY, 0)) >= TOUCH_EVERY_SECONDS:
                session[LAST_ACTIVE_KEY] = now
        return super().process_response(request, response)
