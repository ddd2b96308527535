"""Signed, expiring links that prove an address: made for a user, read back to the user they
were made for while the address is still the one the link was sent to."""

from __future__ import annotations

from enum import Enum

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied

from .actor import Actor, Source
from .models import User

SALT = "fibe_access.accounts.verify-email"


class LinkState(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


def link_token(user: User) -> str:
    return signing.dumps({"u": user.pk, "e": user.email_canonical}, salt=SALT, compress=True)


def link_read(token: str) -> tuple[LinkState, User | None]:
    try:
        data = signing.loads(
            token, salt=SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE.total_seconds()
        )
    except signing.SignatureExpired:
        return LinkState.EXPIRED, None
    except (signing.BadSignature, ValueError, TypeError):
        return LinkState.INVALID, None
    if not isinstance(data, dict):
        return LinkState.INVALID, None
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None or user.email_canonical != data.get("e"):
        return LinkState.INVALID, None
    return LinkState.VALID, user


def require_verified(*, actor: Actor, owner: User) -> None:
    """Creating keys and webhooks needs a verified address, unless an operator acts (the
    ``createapikey`` command, the admin, the system)."""
    if actor.source in (Source.CLI, Source.ADMIN, Source.SYSTEM):
        return
    if not owner.email_verified:
        raise PermissionDenied(
            "Verify your e-mail address first: follow the link Fibe sent you, or ask for a new "
            "one under Profile → Security."
        )
