"""Environment names that carry their unit: each is the name of the setting it sets, with
``_SECONDS``, ``_DAYS`` or ``_HOURS`` when the value has one (``WEBHOOKS_READ_TIMEOUT_SECONDS``
sets ``settings.WEBHOOKS_READ_TIMEOUT``). The names they had before keep working for an
installation that still sets them, with a warning naming the new one; ``RENAMED`` says when
they can go."""

from __future__ import annotations

import os
import warnings
from collections.abc import MutableMapping

# old name → new name. Kept one release after 2026-12 (remove with the next settings change).
RENAMED = {
    "DATABASE_CONN_MAX_AGE": "DATABASE_CONN_MAX_AGE_SECONDS",
    "STEP_UP_WINDOW": "STEP_UP_WINDOW_SECONDS",
    "PLAYGROUND_EXPIRY_NOTICE": "PLAYGROUND_EXPIRY_NOTICE_SECONDS",
    "EMAIL_VERIFICATION_HOURS": "EMAIL_VERIFICATION_MAX_AGE_HOURS",
    "PASSWORD_RESET_TIMEOUT": "PASSWORD_RESET_TIMEOUT_SECONDS",
    "WEBHOOKS_DISABLE_AFTER": "WEBHOOKS_DISABLE_AFTER_SECONDS",
    "WEBHOOKS_LOG_RETENTION": "WEBHOOKS_LOG_RETENTION_SECONDS",
    "WEBHOOKS_CONNECT_TIMEOUT": "WEBHOOKS_CONNECT_TIMEOUT_SECONDS",
    "WEBHOOKS_READ_TIMEOUT": "WEBHOOKS_READ_TIMEOUT_SECONDS",
    "WEBHOOKS_ATTEMPT_BUDGET": "WEBHOOKS_ATTEMPT_BUDGET_SECONDS",
    "WEBHOOKS_SEND_WINDOW": "WEBHOOKS_SEND_WINDOW_SECONDS",
    "WEBHOOKS_LISTEN_TTL": "WEBHOOKS_LISTEN_TTL_SECONDS",
    "WEBHOOKS_LISTEN_WAIT": "WEBHOOKS_LISTEN_WAIT_SECONDS",
    "WEBHOOKS_REENQUEUE_AFTER": "WEBHOOKS_REENQUEUE_AFTER_SECONDS",
    "WEBHOOKS_STUCK_AFTER": "WEBHOOKS_STUCK_AFTER_SECONDS",
}


def renames_apply(environ: MutableMapping[str, str] = os.environ) -> list[str]:
    """Copy each old name still set to its new name (the new one wins when both are set) and
    warn; answers the old names found."""
    found = [old for old in RENAMED if old in environ]
    for old in found:
        new = RENAMED[old]
        environ.setdefault(new, environ[old])
        warnings.warn(
            f"the environment variable {old} is now {new} (same value and unit); "
            f"{old} still works for now",
            FutureWarning,
            stacklevel=2,
        )
    return found
