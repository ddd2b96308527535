"""The official MCP SDK client, made synchronous for tests: connect to a real server's /mcp
with a Bearer key (headers on an ``httpx2.AsyncClient``), then list or call tools."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import anyio
import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client


@asynccontextmanager
async def connect(url: str, token: str | None, headers: dict | None = None):
    sent = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    async with (
        httpx2.AsyncClient(headers=sent, timeout=30) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def run(main):
    """``anyio.run(main)`` on a thread of its own: a test before this one (Playwright's sync
    API) may have left an event loop marked running on this thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, main).result()


def tools(url: str, token: str, headers: dict | None = None) -> dict:
    """{tool name: Tool} as tools/list answers for this key."""

    async def main():
        async with connect(url, token, headers) as session:
            return {t.name: t for t in (await session.list_tools()).tools}

    return run(main)


def call(url: str, token: str, name: str, arguments: dict | None = None) -> tuple[bool, dict]:
    """(is_error, the JSON answer) of one tool call."""

    async def main():
        async with connect(url, token) as session:
            result = await session.call_tool(name, arguments or {})
            return result.is_error, json.loads(result.content[0].text)

    return run(main)
