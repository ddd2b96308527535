"""Secrets shown once (a new API token, a webhook secret, backup codes), carried from the POST
that made them to the page that shows them. The session, a database row, holds only their
ciphertext; the key lives in a short-lived, HttpOnly cookie of the browser that asked. Showing
them forgets both, so the session table never holds them in plain text."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

PREFIX = "fibe_once_"
MAX_AGE = 300


def stash(request, response, name: str, payload: dict):
    key = Fernet.generate_key()
    request.session[PREFIX + name] = Fernet(key).encrypt(json.dumps(payload).encode()).decode()
    response.set_cookie(
        PREFIX + name,
        key.decode(),
        max_age=MAX_AGE,
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Strict",
    )
    return response


def take(request, name: str) -> dict | None:
    """The payload, once; None when it was shown already, expired or came from elsewhere."""
    blob = request.session.pop(PREFIX + name, None)
    key = request.COOKIES.get(PREFIX + name)
    if not blob or not key:
        return None
    try:
        return json.loads(Fernet(key.encode()).decrypt(blob.encode(), ttl=MAX_AGE))
    except (InvalidToken, ValueError, TypeError):
        return None


def forget(response, name: str):
    response.delete_cookie(PREFIX + name, samesite="Strict")
    return response
