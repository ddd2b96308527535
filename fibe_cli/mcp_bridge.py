"""The stdio side of `fibe mcp`: an MCP server on stdin/stdout (for hosts that only start
local servers) whose every tools/list and tools/call is forwarded to the remote /mcp with the
stored key. The remote server decides everything (scopes, restrictions, narrowing); this only
relays. Imported by the command only, so other commands never load the SDK."""

from __future__ import annotations

import httpx2
import mcp_types as types
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from .client import USER_AGENT

TIMEOUT = 60.0


async def serve(url: str, key: str) -> None:
    """Relay stdio MCP to ``url`` (…/mcp) until the host closes stdin."""
    headers = {"Authorization": f"Bearer {key}", "User-Agent": f"{USER_AGENT} (mcp bridge)"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=TIMEOUT, trust_env=False) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as remote,
    ):
        welcome = await remote.initialize()
        server = _relay(remote, welcome.instructions)
        async with stdio_server() as (stdin, stdout):
            await server.run(stdin, stdout, server.create_initialization_options())


def _relay(remote: ClientSession, instructions: str | None) -> Server:
    async def list_tools(ctx, params) -> types.ListToolsResult:
        return await remote.list_tools(params=params)

    async def call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        try:
            return await remote.call_tool(params.name, params.arguments or {})
        except Exception as exc:  # the remote did not answer: a tool error, not a crash
            text = f"The Fibe server did not answer the call ({type(exc).__name__})."
            return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)

    return Server(
        "fibe",
        version="1",
        title="Fibe (via fibe mcp)",
        instructions=instructions,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
