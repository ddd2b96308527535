"""The only way Fibe sends e-mail to a person.

``notice_send``: what Fibe tells an account (an endpoint disabled, a password changed): only to
an active account with a verified address, at most NOTICES_PER_ACCOUNT_HOUR an hour, the same
notice (``about``) at most once per NOTICE_REPEAT_AFTER, each one logged.

``account_mail_send``: the mail that proves or recovers an address (verification link, password
reset, "you already have an account"), which must reach unverified addresses: at most
ACCOUNT_MAIL_PER_ADDRESS_HOUR an hour to one address, whoever asks."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from . import ratelimit
from .actor import Actor
from .addresses import canonical_email
from .models import SecurityEvent, User
from .securitylog import security_log

logger = logging.getLogger(__name__)


def _deliver(to: str, subject: str, body: str) -> bool:
    try:
        send_mail(subject=subject, message=body, from_email=None, recipient_list=[to])
    except Exception:  # a mail server failure must not fail the action that caused the mail
        logger.exception("sending mail failed")
        return False
    return True


def notice_send(*, user: User, subject: str, body: str, about: str) -> bool:
    """Tell an account something; returns whether a mail went out."""
    if not user.is_active or not user.email_verified:
        logger.info("notice %s to account %s suppressed: address not verified", about, user.pk)
        return False
    repeat = int(settings.NOTICE_REPEAT_AFTER.total_seconds())
    if not ratelimit.once(f"notice:{user.pk}:{about}", seconds=repeat):
        logger.info("notice %s to account %s suppressed: already sent", about, user.pk)
        return False
    if not ratelimit.hit(f"notice:{user.pk}", limit=settings.NOTICES_PER_ACCOUNT_HOUR, window=3600):
        logger.warning("notice %s to account %s suppressed: hourly limit", about, user.pk)
        return False
    sent = _deliver(user.email, subject, body)
    if sent:
        security_log(
            actor=Actor.system(), user=user, kind=SecurityEvent.Kind.NOTICE_SENT, subject=subject
        )
    return sent


def account_mail_send(*, to: str, subject: str, body: str) -> bool:
    """Mail about the address itself; returns whether it went out."""
    if not ratelimit.hit(
        f"mail:{canonical_email(to)}",
        limit=settings.ACCOUNT_MAIL_PER_ADDRESS_HOUR,
        window=3600,
    ):
        logger.warning("account mail suppressed: hourly limit for one address")
        return False
    return _deliver(to, subject, body)
