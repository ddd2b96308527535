"""How security-log rows read on the security page, which needs no step-up: a webhook URL can
carry a token in its path or query, so only its scheme and host are shown."""

from __future__ import annotations

from urllib.parse import urlsplit

from .sessions import describe_agent, public_id

URL_KEYS = ("url", "previous_url")


def safe_url(value) -> str:
    """``https://hooks.example.com/…``: no user info, path, query or fragment."""
    try:
        parts = urlsplit(str(value))
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(address hidden)"
    if not host:
        return "(address hidden)"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}/…"


def security_log_rows(events) -> list[dict]:
    rows = []
    for event in events:
        detail = event.detail or {}
        rows.append(
            {
                "event": event,
                # e.g. "API key revoked: reported as leaked" (keys/leaks.py)
                "what": event.get_kind_display()
                + (f": {detail['reason']}" if isinstance(detail.get("reason"), str) else ""),
                "label": detail.get("label", ""),
                "endpoint": safe_url(detail["url"]) if detail.get("url") else "",
                "many_addresses": bool(detail.get("many_addresses")),
            }
        )
    return rows


def session_rows(sessions, *, current_key: str | None) -> list[dict]:
    """Each signed-in session as the page lists it, this one first. Never the session key."""
    rows = [
        {
            "id": public_id(session.session_key),
            **describe_agent(session.user_agent),
            "ip": session.ip,
            "signed_in": session.created_at,
            "last_active": session.updated_at,
            "current": session.session_key == current_key,
        }
        for session in sessions
    ]
    return sorted(rows, key=lambda row: not row["current"])
