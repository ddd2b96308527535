"""The MCP protocol side: a low-level SDK ``Server`` for one authenticated caller, and
``serve``, which hands one HTTP request to the SDK's StreamableHTTPSessionManager in stateless
JSON mode (one POST in, one JSON answer out: no session to pin to a gunicorn worker).

A Server is built per request so ``tools/list`` is the calling key's own list. Tools run the
registry's operations through ``sync_to_async(thread_sensitive=True)``: under ``async_to_sync``
from the Django view that is the request's own thread and database connection.

An exception a tool did not expect (a bug, a database error) never reaches the client: it is
logged with an error id, and the client gets a generic internal error naming that id, as the
REST API answers a generic 500."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import mcp_types as types
from asgiref.sync import sync_to_async
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError, UrlElicitationRequiredError

from fibe_access.api.caller import Caller

from . import tools

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Fibe's API as tools. Each tool mirrors one /api/v1/ operation and needs the same scope; "
    "this key sees only the tools it may call. IDs outside the key's reach are 'not found'. "
    "Call whoami to see the key's scopes and restrictions."
)


def build(caller: Caller, narrowing: tools.Narrowing) -> Server:
    async def list_tools(ctx, params) -> types.ListToolsResult:
        try:
            entries = await sync_to_async(tools.tools_for, thread_sensitive=True)(caller, narrowing)
        except Exception:  # noqa: BLE001 - logged with its id; the client sees only the id
            message = internal_error("tools/list")
            raise MCPError(code=types.INTERNAL_ERROR, message=message) from None
        return types.ListToolsResult(tools=[types.Tool(**entry) for entry in entries])

    async def call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        op = tools.by_name().get(params.name)
        if op is None or not narrowing.admits(op):
            outcome = tools.unavailable(params.name)
        else:
            try:
                outcome = await sync_to_async(tools.call, thread_sensitive=True)(
                    op, caller, params.arguments
                )
            except Exception:  # noqa: BLE001 - logged with its id; the client sees only the id
                message = internal_error(f"tool {tools.tool_name(op)}")
                outcome = tools.Outcome(500, {"code": "internal_error", "message": message})
        _elicit_confirmation(outcome)
        return types.CallToolResult(
            content=[types.TextContent(text=outcome.text())],
            structured_content=outcome.structured(),
            is_error=outcome.is_error,
        )

    return Server(
        "fibe",
        version="1",
        title="Fibe",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def internal_error(what: str) -> str:
    """Log the exception being handled under a new error id; the message the client gets."""
    error_id = uuid.uuid4().hex[:16]
    log.exception("MCP %s failed: error id %s", what, error_id)
    return f"Internal error (error id {error_id}). It has been logged; quote the id if you ask us."


def _elicit_confirmation(outcome: tools.Outcome) -> None:
    """A destructive call waiting for a person's approval (issue 22) is the MCP spec's
    URL-elicitation-required error (-32042): the host shows the message and the URL."""
    body = outcome.body if isinstance(outcome.body, dict) else {}
    if outcome.status != 403 or body.get("code") != "confirmation_required":
        return
    raise UrlElicitationRequiredError(
        [
            types.ElicitRequestURLParams(
                message=body["message"],
                url=body["confirmation_url"],
                elicitation_id=f"confirmation-{body['confirmation_id']}",
            )
        ],
        body["message"],
    )


async def serve(server: Server, scope: dict[str, Any], body: bytes) -> tuple[int, list, bytes]:
    """Run one ASGI request through a fresh stateless session manager; return the answer's
    status, headers and body. (A manager runs once, so each request gets its own.)"""
    manager = StreamableHTTPSessionManager(
        app=server, stateless=True, json_response=True, max_request_body_size=len(body) + 1
    )
    sent = False
    answer: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"], answer["headers"] = message["status"], message.get("headers", [])
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    async with manager.run():
        await manager.handle_request(scope, receive, send)
    return answer["status"], answer["headers"], answer["body"]
