#!/usr/bin/env python3
"""Third-party MCP client check: the official Python `mcp` SDK against a running `smart-todo serve`.

Connects over Streamable HTTP with two users' bearer tokens, lists the tools, calls every one of
them (results, isError cases, invalid_params cases, two-user isolation), checks the HTTP-level
refusals, and measures the round-trip latency of `tools/call add_task`. It runs the whole suite
twice: with the `initialize` handshake (what Claude Desktop, Cursor and the Inspector speak) and
with the SDK's automatic negotiation (`server/discover`, protocol 2026-07-28 when offered).

    MCP_URL=http://127.0.0.1:8080/mcp ALICE_TOKEN=... BOB_TOKEN=... python client.py [--calls 50]

(`SERVE_URL=http://127.0.0.1:8080` works instead of MCP_URL.)

Prints one line per check and ends with `mcp client: N passed, M failed`; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import time
from contextlib import AsyncExitStack
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402  (tests/lib, shared by the protocol clients)

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

TOOLS = ["add_task", "list_tasks", "get_task", "complete_task", "reopen_task", "update_task", "delete_task"]
READ_ONLY = {"list_tasks", "get_task"}
INVALID_PARAMS = -32602
ACCEPT = "application/json, text/event-stream"


def text_of(result: Any) -> str:
    """The first text block of a tool result."""
    return result.content[0].text if result.content else ""


async def connect(stack: AsyncExitStack, url: str, token: str, mode: str) -> Client:
    """An SDK client for `url` sending `Authorization: Bearer <token>` on every request."""
    http = await stack.enter_async_context(
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30.0))
    )
    transport = streamable_http_client(url, http_client=http)
    return await stack.enter_async_context(Client(transport, mode=mode, cache=None))


class Suite:
    """The functional checks for one negotiation mode."""

    def __init__(self, checks: Checks, mode: str, alice: Client, bob: Client, state: dict[str, set[int]]):
        self.checks = checks
        self.mode = mode
        self.alice = alice
        self.bob = bob
        # Task ids each user should see, across modes (both runs share one database).
        self.state = state

    def check(self, name: str, ok: bool, detail: Any = "") -> bool:
        return self.checks.check(f"[{self.mode}] {name}", ok, detail)

    async def call(self, client: Client, tool: str, arguments: dict) -> Any:
        """A tool call whose exceptions become failed checks (returns None then)."""
        try:
            return await client.call_tool(tool, arguments)
        except Exception as err:  # noqa: BLE001 - every failure is reported as a check
            self.check(f"{tool} {arguments} raised nothing", False, repr(err))
            return None

    async def ok(self, client: Client, tool: str, arguments: dict, status: str | None, title: str) -> Any:
        """Calls a change tool and checks its `{task_id, status, title}` result and its text."""
        result = await self.call(client, tool, arguments)
        if result is None:
            return None
        sc = result.structured_content or {}
        shape_ok = (
            not result.is_error
            and set(sc) == {"task_id", "status", "title"}
            and sc.get("status") == status
            and sc.get("title") == title
            and isinstance(sc.get("task_id"), int)
        )
        self.check(f"{tool} -> status {status!r}, title {title!r}", shape_ok, f"{result.is_error} {sc}")
        verb = (status or "").capitalize()
        self.check(
            f"{tool} text rendering",
            text_of(result) == f"{verb} task {sc.get('task_id')}: {title}",
            text_of(result),
        )
        return sc

    async def tool_error(self, name: str, client: Client, tool: str, arguments: dict, needle: str) -> str:
        result = await self.call(client, tool, arguments)
        if result is None:
            return ""
        text = text_of(result)
        self.check(name, result.is_error and needle in text, f"isError={result.is_error} {text!r}")
        return text

    async def invalid_params(self, name: str, client: Client, tool: str, arguments: dict) -> None:
        """Calls a tool expecting the JSON-RPC invalid_params error."""
        try:
            result = await client.call_tool(tool, arguments)
        except MCPError as err:
            self.check(name, err.code == INVALID_PARAMS, f"code {err.code}: {err.message}")
            return
        self.check(name, False, f"no protocol error, got isError={result.is_error} {text_of(result)!r}")

    async def list_ids(self, client: Client, status: str | None = None) -> list[int] | None:
        arguments = {} if status is None else {"status": status}
        result = await self.call(client, "list_tasks", arguments)
        if result is None:
            return None
        sc = result.structured_content
        if not self.check(
            f"list_tasks {arguments} -> {{'tasks': [...]}}",
            not result.is_error and isinstance(sc, dict) and list(sc) == ["tasks"],
            sc,
        ):
            return None
        return [task["id"] for task in sc["tasks"]]

    async def run(self) -> None:
        alice, bob = self.alice, self.bob
        self.check(
            "negotiated a protocol version",
            bool(alice.protocol_version),
            alice.protocol_version,
        )
        print(f"[{self.mode}] protocol version {alice.protocol_version}", flush=True)

        listed = await alice.list_tools()
        tools = {tool.name: tool for tool in listed.tools}
        self.check("tools/list offers the 7 task tools", [t.name for t in listed.tools] == TOOLS, list(tools))
        for name, tool in tools.items():
            schema = str(tool.input_schema).lower()
            self.check(f"{name}: input schema has no user id", "user" not in schema, tool.input_schema)
            self.check(f"{name}: output schema declared", bool(tool.output_schema), tool.output_schema)
            ann = tool.annotations
            self.check(
                f"{name}: annotations",
                ann is not None
                and ann.read_only_hint == (name in READ_ONLY)
                and ann.destructive_hint == (name == "delete_task")
                and ann.open_world_hint is False
                and (name != "reopen_task" or ann.idempotent_hint is True)
                # complete_task moves a recurring task on each call
                and (name != "complete_task" or ann.idempotent_hint is False),
                ann,
            )

        # add_task
        created = await self.ok(alice, "add_task", {"title": "Buy milk", "description": "oat"}, "created", "Buy milk")
        if created is None:
            return
        task_id = created["task_id"]
        self.state["alice"].add(task_id)
        await self.tool_error("add_task with an empty title is isError", alice, "add_task", {"title": "  "}, "title")
        await self.invalid_params(
            "add_task with a user_id argument is invalid_params", alice, "add_task", {"title": "x", "user_id": "bob"}
        )
        await self.invalid_params("add_task with a numeric title is invalid_params", alice, "add_task", {"title": 5})

        # list_tasks
        ids = await self.list_ids(alice)
        self.check("list_tasks shows exactly alice's tasks", ids is not None and set(ids) == self.state["alice"], ids)
        pending = await self.list_ids(alice, "pending")
        self.check("list_tasks pending includes the new task", pending is not None and task_id in pending, pending)
        await self.invalid_params(
            "list_tasks with an unknown status is invalid_params", alice, "list_tasks", {"status": "done"}
        )

        # get_task
        result = await self.call(alice, "get_task", {"task_id": task_id})
        if result is not None:
            sc = result.structured_content or {}
            self.check(
                "get_task returns the task",
                not result.is_error
                and sc.get("id") == task_id
                and sc.get("title") == "Buy milk"
                and sc.get("description") == "oat"
                and sc.get("completed") is False,
                sc,
            )
        await self.tool_error(
            "get_task of a missing id is isError 'not found'",
            alice,
            "get_task",
            {"task_id": task_id + 10_000},
            "not found",
        )

        # complete_task (twice: a one-off task stays completed), reopen_task
        await self.ok(alice, "complete_task", {"task_id": task_id}, "completed", "Buy milk")
        await self.ok(alice, "complete_task", {"task_id": task_id}, "completed", "Buy milk")
        completed = await self.list_ids(alice, "completed")
        self.check("list_tasks completed includes it", completed is not None and task_id in completed, completed)
        await self.ok(alice, "reopen_task", {"task_id": task_id}, "reopened", "Buy milk")

        # update_task
        await self.ok(alice, "update_task", {"task_id": task_id, "title": "Buy oat milk"}, "updated", "Buy oat milk")
        await self.tool_error(
            "update_task to an empty title is isError", alice, "update_task", {"task_id": task_id, "title": ""}, "title"
        )

        # Isolation: bob can neither see nor change alice's task, and hears "not found". Numbers are
        # per user; alice has made more tasks than bob, so her number here is not one of his.
        self.check("alice's task number is not one of bob's", task_id not in self.state["bob"], self.state)
        for tool, arguments in [
            ("get_task", {"task_id": task_id}),
            ("complete_task", {"task_id": task_id}),
            ("reopen_task", {"task_id": task_id}),
            ("update_task", {"task_id": task_id, "title": "Hijacked"}),
            ("delete_task", {"task_id": task_id}),
        ]:
            text = await self.tool_error(f"bob's {tool} on alice's task is isError", bob, tool, arguments, "not found")
            self.check(
                f"bob's {tool} answer equals the one for a missing task",
                text == f"task {task_id} was not found",
                text,
            )
        result = await self.call(alice, "get_task", {"task_id": task_id})
        if result is not None:
            sc = result.structured_content or {}
            self.check(
                "alice's task is unchanged after bob's calls",
                sc.get("title") == "Buy oat milk" and sc.get("completed") is False,
                sc,
            )
        # Bob's own tasks are numbered from 1, whatever alice has.
        bob_task = await self.ok(bob, "add_task", {"title": "Walk the dog"}, "created", "Walk the dog")
        if bob_task is not None:
            self.check(
                "bob's task gets bob's next number",
                bob_task["task_id"] == len(self.state["bob"]) + 1,
                (bob_task, self.state["bob"]),
            )
            self.state["bob"].add(bob_task["task_id"])
        listed = await self.call(bob, "list_tasks", {})
        mine = (listed.structured_content or {}).get("tasks", []) if listed is not None else None
        self.check(
            "bob's list_tasks shows only bob's tasks",
            mine is not None
            and {t["id"] for t in mine} == self.state["bob"]
            and all(t["title"] == "Walk the dog" for t in mine),
            mine,
        )

        # unknown tool
        try:
            result = await alice.call_tool("drop_tables", {})
            self.check("an unknown tool is a protocol error", False, f"isError={result.is_error} {text_of(result)!r}")
        except MCPError as err:
            self.check("an unknown tool is invalid_params", err.code == INVALID_PARAMS, f"{err.code}: {err.message}")

        # delete_task, then again
        await self.ok(alice, "delete_task", {"task_id": task_id}, "deleted", "Buy oat milk")
        self.state["alice"].discard(task_id)
        await self.tool_error(
            "delete_task of a deleted task is isError 'not found'",
            alice,
            "delete_task",
            {"task_id": task_id},
            "not found",
        )
        ids = await self.list_ids(alice)
        self.check("the deleted task is gone from the list", ids is not None and task_id not in ids, ids)


async def latency(checks: Checks, mode: str, client: Client, calls: int, state: dict[str, set[int]]) -> None:
    """Round-trip times of `tools/call add_task` through the SDK, sequentially."""
    times = []
    for i in range(calls):
        start = time.perf_counter()
        result = await client.call_tool("add_task", {"title": f"Latency probe {i}"})
        times.append((time.perf_counter() - start) * 1000)
        if result.is_error:
            checks.check(f"[{mode}] latency probe {i} succeeded", False, text_of(result))
            return
        state["alice"].add(result.structured_content["task_id"])
    times.sort()
    p50 = statistics.median(times)
    p99 = times[max(0, math.ceil(0.99 * len(times)) - 1)]
    checks.check(f"[{mode}] {calls} add_task calls succeeded", True)
    print(
        f"[{mode}] add_task round trip over {calls} calls: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {times[-1]:.2f} ms"
    )


async def http_refusals(checks: Checks, url: str, alice_token: str) -> None:
    """What a client sees before MCP runs: 401 with a Bearer challenge, 405 for GET."""
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
    }
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(30.0)) as http:
        for label, headers in [
            ("no token", {}),
            ("a bad token", {"Authorization": "Bearer not-a-jwt"}),
        ]:
            response = await http.post(url, json=initialize, headers={"Accept": ACCEPT, **headers})
            checks.check(
                f"[http] {label}: 401 with WWW-Authenticate: Bearer",
                response.status_code == 401 and response.headers.get("www-authenticate") == "Bearer",
                f"{response.status_code} {dict(response.headers)}",
            )
        response = await http.get(
            url, headers={"Accept": "text/event-stream", "Authorization": f"Bearer {alice_token}"}
        )
        checks.check("[http] GET is 405 (stateless)", response.status_code == 405, response.status_code)
        response = await http.post(
            url, json=initialize, headers={"Accept": ACCEPT, "Authorization": f"Bearer {alice_token}"}
        )
        checks.check(
            "[http] initialize answers JSON without a session id",
            response.status_code == 200
            and response.headers.get("content-type", "").startswith("application/json")
            and "mcp-session-id" not in response.headers,
            f"{response.status_code} {dict(response.headers)}",
        )

    # The SDK reports the refusal as an error instead of connecting.
    try:
        async with AsyncExitStack() as stack:
            client = await connect(stack, url, "not-a-jwt", "legacy")
            await client.list_tools()
        checks.check("[sdk] a bad token cannot connect", False, "connected")
    except Exception as err:  # noqa: BLE001 - any refusal will do; a hang or success will not
        checks.check("[sdk] a bad token cannot connect", True, repr(err))


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=50, help="add_task calls to time (default 50)")
    args = parser.parse_args()
    # MCP_URL, or the app's base URL (SERVE_URL) with /mcp appended.
    url = os.environ.get("MCP_URL") or os.environ["SERVE_URL"].rstrip("/") + "/mcp"
    alice_token, bob_token = os.environ["ALICE_TOKEN"], os.environ["BOB_TOKEN"]

    checks = Checks()
    state: dict[str, set[int]] = {"alice": set(), "bob": set()}
    await http_refusals(checks, url, alice_token)
    for mode in ["legacy", "auto"]:
        try:
            async with AsyncExitStack() as stack:
                alice = await connect(stack, url, alice_token, mode)
                bob = await connect(stack, url, bob_token, mode)
                await Suite(checks, mode, alice, bob, state).run()
                await latency(checks, mode, alice, args.calls, state)
        except Exception as err:  # noqa: BLE001 - a crash of one mode is one failed check
            checks.check(f"[{mode}] the suite ran to its end", False, repr(err))

    print(f"mcp client: {checks.passed} passed, {checks.failed} failed")
    return 0 if checks.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
