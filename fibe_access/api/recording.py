"""Where the API's faces tell ``keys.activity`` what a key did (issue 24): the REST route of
every operation (``recorded``, a django-ninja "view" decorator, so a request refused by its
input schema is recorded too) and every MCP tool call (``tool_called``). Recording only buffers
a tuple: the database write happens later, off the request path."""

from __future__ import annotations

import functools
import time
from typing import Any

from fibe_access.accounts.actor import Source, client_ip
from keys import activity

RECORD_ID = "activity_record_id"  # request attribute: the id of the record a create made


def record_id(op, params: dict[str, Any], result: Any = None) -> int | None:
    """The record an operation was about: its first path parameter, else what a write made."""
    if op.path_params:
        return activity.record_id_of(params.get(op.path_params[0]))
    if op.kind != "read" and result is not None:
        return activity.record_id_of(result)
    return None


def recorded(run):
    """Wrap a ninja operation's ``run`` (auth, input, handler, error answers) to record each
    authenticated request with its final status."""
    op = run.__self__.view_func.fibe_operation

    @functools.wraps(run)
    def recording(request, *args, **kwargs):
        started, clock = time.time(), time.perf_counter()
        status = 500
        try:
            response = run(request, *args, **kwargs)
            status = response.status_code
            return response
        finally:
            key = getattr(request, "api_key", None)
            if key is not None:
                found = getattr(request, RECORD_ID, None)
                activity.record(
                    key_id=key.pk,
                    door=activity.door_for(
                        mcp=False, user_agent=request.META.get("HTTP_USER_AGENT", "")
                    ),
                    operation=op.name,
                    kind=op.kind,
                    record_id=found if found is not None else record_id(op, kwargs),
                    status=status,
                    started=started,
                    duration=time.perf_counter() - clock,
                    ip=client_ip(request),
                )

    return recording


def tool_called(op, caller, arguments: dict, status: int, body: Any, started: float, clock: float):
    """Record one MCP tool call of ``op`` by ``caller`` that answered ``status``."""
    activity.record(
        key_id=caller.key.pk,
        door=activity.door_for(mcp=caller.source == Source.MCP, user_agent=""),
        operation=op.name,
        kind=op.kind,
        record_id=record_id(op, arguments, body if status < 400 else None),
        status=status,
        started=started,
        duration=time.perf_counter() - clock,
        ip=caller.actor.ip,
    )
