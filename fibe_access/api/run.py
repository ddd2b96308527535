"""Running an operation: the one function every face calls (``run``), the one refusal rule
(``refusal``: the MCP tools list asks it too, so a tool is listed exactly when a call would not
be refused outright) and the concealment of IDs outside a key's restriction (``conceal``).

``ran`` is the one place where an operation's outcome is known: its name, the record it was
about, the status it answered and how long it took, whether it succeeded or raised."""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

from keys import scopes

from . import confirm, errors
from .caller import Caller
from .errors import ApiError, NotFound, ScopeDenied
from .operations import Operation, Restriction

log = logging.getLogger(__name__)


def refusal(op: Operation, caller: Caller) -> ApiError | None:
    """Why ``caller`` may not call ``op`` whatever it sends, or None: a scope the key lacks
    (403 naming it), or a family the key is restricted on that ``op`` makes records of."""
    if op.scope is not None and not caller.permits(op.scope):
        also = scopes.ALSO_SATISFIED_BY.get(op.scope)
        needed = f"'{op.scope}'" + (f" (or {', '.join(sorted(also))})" if also else "")
        return ScopeDenied(f"This API key lacks the scope {needed}.")
    for family in op.creates:
        if caller.restricted_ids(family) is not None:
            which = "" if family == op.family else f", which {op.name} does"
            return ScopeDenied(
                f"This API key is restricted to listed {family} and cannot create new ones{which}."
            )
    return None


def run(op: Operation, caller: Caller, params: dict[str, Any]) -> Any:
    """Refuse, check the restriction, run the handler, conceal. Every face comes here."""
    started = time.monotonic()
    try:
        refused = refusal(op, caller)
        if refused is not None:
            raise refused
        if op.restriction == Restriction.ITEM:
            ids = caller.restricted_ids(op.family)
            if ids is not None and params[op.path_params[0]] not in ids:
                raise NotFound()
        # Confirm destructive actions: a destructive operation (``op.approval``: unless it
        # is declared exempt) on a credential with the switch on runs only by claiming its
        # owner's approval (fibe_access.api.confirm), the last check before the handler;
        # other calls pay nothing here.
        if op.approval and caller.key.confirm_destructive:
            result = confirm.run_confirmed(
                op, caller, params, lambda: conceal(op, caller, op.handler(caller, **params))
            )
        else:
            result = conceal(op, caller, op.handler(caller, **params))
    except BaseException as exc:
        found = errors.answer(exc) if isinstance(exc, Exception) else None
        ran(op, caller, _record_id(op, params, None), found.status if found else 500, started)
        raise
    ran(op, caller, _record_id(op, params, result), op.status, started)
    return result


def ran(op: Operation, caller: Caller, record_id: int | None, status: int, started: float):
    """Every run of every operation ends here, success or not: ``record_id`` is the record it
    was about (its path ID, or the one it created), ``status`` the HTTP status it answered (a
    handler's bug: 500), ``started`` its time.monotonic() at the start."""
    if log.isEnabledFor(logging.DEBUG):
        duration_ms = (time.monotonic() - started) * 1000
        log.debug(
            "%s key=%s record=%s status=%s %.1fms",
            op.name,
            caller.key.pk,
            record_id,
            status,
            duration_ms,
        )


def _record_id(op: Operation, params: dict[str, Any], result: Any) -> int | None:
    if op.path_params:
        value = params.get(op.path_params[0])
        return value if isinstance(value, int) else None
    value = getattr(result, "pk", None)
    return value if isinstance(value, int) else None


def conceal(op: Operation, caller: Caller, result: Any) -> Any:
    """The answer with the IDs of records outside the key's restriction on their family blanked
    (a playground's playspec), so no answer names a record the key cannot reach. Returns copies:
    the handler's records are left as they are."""
    if not op.refers or not caller.key.restrictions or result is None:
        return result
    listed = {a: caller.restricted_ids(f) for a, f in op.refers.items()}
    listed = {a: set(ids) for a, ids in listed.items() if ids is not None}
    if not listed:
        return result

    def hidden(obj):
        out = None
        for attr, ids in listed.items():
            if getattr(obj, attr) not in ids:
                out = out or copy.copy(obj)
                setattr(out, attr, None)
        return out or obj

    if isinstance(result, dict):
        return {**result, "items": [hidden(o) for o in result.get("items", ())]}
    return hidden(result)
