"""The MCP protocol side: a low-level SDK ``Server`` for one authenticated caller, and
``serve``, which hands one HTTP request to the SDK's StreamableHTTPSessionManager in stateless
JSON mode (one POST in, one JSON answer out: no session to pin to a gunicorn worker).

A Server is built per request so ``tools/list`` is the calling key's own list. Tools run the
registry's operations through ``sync_to_async(thread_sensitive=True)``: under ``async_to_sync``
from the Django view that is the request's own thread and database connection."""

from __future__ import annotations

from typing import Any

import mcp_types as types
from asgiref.sync import sync_to_async
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import UrlElicitationRequiredError

from fibe_access.api.caller import Caller

from . import tools

INSTRUCTIONS = (
    "Fibe's API as tools. Each tool mirrors one /api/v1/ operation and needs the same scope; "
    "this key sees only the tools it may call. IDs outside the key's reach are 'not found'. "
    "Call whoami to see the key's scopes and restrictions."
)


def build(caller: Caller, narrowing: tools.Narrowing) -> Server:
    async def list_tools(ctx, params) -> types.ListToolsResult:
        entries = await sync_to_async(tools.tools_for, thread_sensitive=True)(caller, narrowing)
        return types.ListToolsResult(tools=[types.Tool(**entry) for entry in entries])

    async def call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        op = tools.by_name().get(params.name)
        if op is None or not narrowing.admits(op):
            outcome = tools.unavailable(params.name)
        else:
            outcome = await sync_to_async(tools.call, thread_sensitive=True)(
                op, caller, params.arguments
            )
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
