#!/usr/bin/env python3
"""Third-party MCP client check: the official Python `mcp` SDK against a running `smart-todo serve`.

Connects over Streamable HTTP with two users' bearer tokens, lists the tools, calls every one of
them (results, isError cases, invalid_params cases, two-user isolation; priority, lists, tags, due
dates, search, views and paging), checks the HTTP-level refusals, and measures the round-trip latency
of `tools/call add_task`. With DATABASE_URL set (serve_on_fresh_db sets it), what the tools store is
also read back from PostgreSQL with psql. It runs the whole suite
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
import json
import statistics
import subprocess
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

TOOLS = [
    "add_task",
    "add_tasks",
    "list_tasks",
    "list_lists",
    "find_task",
    "get_task",
    "complete_task",
    "reopen_task",
    "update_task",
    "delete_task",
    "change_tasks",
    "confirm_change",
    "restore_task",
    "activity",
    "undo_last_change",
]
READ_ONLY = {"list_tasks", "list_lists", "find_task", "get_task", "activity"}
# Calling these twice does more than calling them once.
NOT_IDEMPOTENT = {"add_task", "add_tasks", "complete_task", "delete_task", "undo_last_change", "change_tasks", "confirm_change"}
DESTRUCTIVE = {"delete_task", "confirm_change"}
LISTING_KEYS = {"tasks", "next_cursor", "total"}
INVALID_PARAMS = -32602
ACCEPT = "application/json, text/event-stream"


class Database:
    """Reads what the tools stored, with psql on DATABASE_URL (the fresh database of the server)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self, statement: str) -> list[Any]:
        """The rows of `SELECT row_to_json(...) ...`-style statements: one JSON value per line."""
        done = subprocess.run(
            ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", self.url, "-c", statement],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed ({done.returncode}): {done.stderr.strip()} -- {statement}")
        return [json.loads(line) for line in done.stdout.splitlines() if line]

    def task(self, user: str, task_id: int) -> dict | None:
        """How the user's task is stored: priority level, tags, list name (None: the Inbox), due."""
        rows = self.rows(
            "SELECT row_to_json(r) FROM (SELECT t.title, t.priority, t.tags, l.name AS list, t.list_id,"
            " t.due_date::text AS due_date, to_char(t.due_time, 'HH24:MI') AS due_time, t.completed"
            " FROM tasks t LEFT JOIN lists l ON l.user_id = t.user_id AND l.id = t.list_id"
            f" WHERE t.user_id = {sql_text(user)} AND t.id = {int(task_id)}) r"
        )
        return rows[0] if rows else None

    def ids(self, user: str, condition: str) -> list[int]:
        """The numbers of the user's tasks (`tasks t`) matching the SQL condition, in order."""
        return self.rows(
            f"SELECT t.id FROM tasks t WHERE t.user_id = {sql_text(user)} AND ({condition}) ORDER BY t.id"
        )

    def lists(self, user: str) -> list[dict]:
        """The user's lists as stored, with their task counts."""
        return self.rows(
            "SELECT row_to_json(r) FROM (SELECT l.id, l.name,"
            " (SELECT count(*) FROM tasks t WHERE t.user_id = l.user_id AND t.list_id = l.id"
            "  AND NOT t.completed) AS pending,"
            " (SELECT count(*) FROM tasks t WHERE t.user_id = l.user_id AND t.list_id = l.id) AS total"
            f" FROM lists l WHERE l.user_id = {sql_text(user)} ORDER BY l.id) r"
        )


def sql_text(value: str) -> str:
    """A SQL string literal (only for the fixed names this client makes)."""
    return "'" + value.replace("'", "''") + "'"


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

    def __init__(
        self,
        checks: Checks,
        mode: str,
        alice: Client,
        bob: Client,
        state: dict[str, set[int]],
        db: Database | None = None,
    ):
        self.checks = checks
        self.db = db
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
            f"list_tasks {arguments} -> {{'tasks': [...], 'next_cursor': null, 'total': N}}",
            not result.is_error
            and isinstance(sc, dict)
            and set(sc) == LISTING_KEYS
            and sc["next_cursor"] is None
            and sc["total"] == len(sc["tasks"]),
            sc,
        ):
            return None
        return [task["id"] for task in sc["tasks"]]

    async def listing(self, client: Client, arguments: dict) -> dict | None:
        """A successful list_tasks call's structured result ({tasks, next_cursor, total})."""
        result = await self.call(client, "list_tasks", arguments)
        if result is None:
            return None
        sc = result.structured_content
        if not self.check(
            f"list_tasks {arguments} answers a page",
            not result.is_error and isinstance(sc, dict) and set(sc) == LISTING_KEYS,
            f"isError={result.is_error} {text_of(result)!r} {sc}",
        ):
            return None
        return sc

    async def ids_of(self, client: Client, arguments: dict) -> set[int] | None:
        """The ids of one whole listing (asserted to fit one page, total = its length)."""
        sc = await self.listing(client, arguments)
        if sc is None:
            return None
        ids = [task["id"] for task in sc["tasks"]]
        self.check(
            f"list_tasks {arguments}: one page, total = its length",
            sc["next_cursor"] is None and sc["total"] == len(ids),
            sc,
        )
        return set(ids)

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
        self.check(
            f"tools/list offers the {len(TOOLS)} task tools in catalog order", [t.name for t in listed.tools] == TOOLS, list(tools)
        )
        for name, tool in tools.items():
            schema = str(tool.input_schema).lower()
            self.check(f"{name}: input schema has no user id", "user" not in schema, tool.input_schema)
            self.check(f"{name}: output schema declared", bool(tool.output_schema), tool.output_schema)
            ann = tool.annotations
            self.check(
                f"{name}: annotations",
                ann is not None
                and ann.read_only_hint == (name in READ_ONLY)
                and ann.destructive_hint == (name in DESTRUCTIVE)
                and ann.open_world_hint is False
                and (name != "reopen_task" or ann.idempotent_hint is True)
                # complete_task moves a recurring task on each call; each add adds one more
                and (name not in NOT_IDEMPOTENT or ann.idempotent_hint is False),
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

        await self.organise()

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

        # The trash and history: restore_task brings it back with its number, activity shows what
        # MCP did, undo_last_change takes the restore back.
        await self.ok(alice, "restore_task", {"task_id": task_id}, "restored", "Buy oat milk")
        ids = await self.list_ids(alice)
        self.check("the restored task is back with its number", ids is not None and task_id in ids, ids)
        history = await self.call(alice, "activity", {"task_id": task_id, "limit": 3})
        events = (history.structured_content or {}).get("events", []) if history else []
        self.check(
            "activity lists the task's changes newest first, each from mcp",
            [e.get("kind") for e in events] == ["restored", "deleted", "updated"]
            and all(e.get("source") == "mcp" for e in events),
            events,
        )
        undone = await self.call(alice, "undo_last_change", {})
        sc = (undone.structured_content or {}) if undone else {}
        self.check(
            "undo_last_change takes the restore back",
            undone is not None and not undone.is_error and [e.get("kind") for e in sc.get("undone", [])] == ["restored"],
            sc,
        )
        ids = await self.list_ids(alice)
        self.check("after the undo the task is gone again", ids is not None and task_id not in ids, ids)
        await self.tool_error("bob's restore_task of alice's task is isError", bob, "restore_task", {"task_id": task_id}, "not in the trash")

    def stored(self, user: str, task_id: int) -> dict | None:
        """The stored row of a task (None without DATABASE_URL, or when there is none)."""
        return self.db.task(user, task_id) if self.db else None

    def db_check(self, name: str, ok: Any, detail: Any = "") -> None:
        """A check of the stored rows; skipped without DATABASE_URL (said once per mode)."""
        if self.db is None:
            return
        self.check(f"db: {name}", bool(ok()) if callable(ok) else bool(ok), detail() if callable(detail) else detail)

    async def organise(self) -> None:
        """Priority, lists, tags, due dates, add_tasks, search, views, paging and list_lists."""
        alice, bob, mode = self.alice, self.bob, self.mode
        # Both modes share one database: this mode's list, tag and search word are its own.
        shop = f"Shopping {mode}"
        tag = f"errands-{mode}"
        word = f"zanzibar{mode}"
        if self.db is None:
            print(f"[{mode}] DATABASE_URL is not set: the stored rows are not checked", flush=True)

        # add_task with a due date, priority, list and tags.
        arguments = {
            "title": f"Buy milk {word}",
            "due": "2030-12-24 09:30",
            "priority": "high",
            "list": shop,
            "tags": [tag.upper(), "#Dairy", tag],
        }
        result = await self.call(alice, "add_task", arguments)
        if result is None:
            return
        sc = result.structured_content or {}
        milk = sc.get("task_id")
        if not self.check(
            "add_task with due, priority, list and tags answers them",
            not result.is_error
            and isinstance(milk, int)
            and sc
            == {
                "task_id": milk,
                "status": "created",
                "title": f"Buy milk {word}",
                "due": "Tue 24 Dec 2030, 09:30",
                "priority": "high",
                "list": shop,
                "tags": [tag, "dairy"],
            },
            f"isError={result.is_error} {sc} {text_of(result)!r}",
        ):
            return
        self.state["alice"].add(milk)
        self.check(
            "add_task text names them",
            text_of(result)
            == f"Created task {milk}: Buy milk {word} (due Tue 24 Dec 2030, 09:30, high priority, on {shop}, "
            f"#{tag}, #dairy)",
            text_of(result),
        )
        row = self.stored("alice", milk)
        self.db_check(
            "add_task stored priority 3, the tags, the list and the due",
            lambda: row is not None
            and row["priority"] == 3
            and row["tags"] == [tag, "dairy"]
            and row["list"] == shop
            and (row["due_date"], row["due_time"]) == ("2030-12-24", "09:30"),
            row,
        )
        await self.tool_error(
            "add_task with a tag containing a space is isError",
            alice,
            "add_task",
            {"title": "x", "tags": ["two words"], "list": f"Never {mode}"},
            "invalid tags",
        )
        await self.invalid_params(
            "add_task with a priority outside the enum is invalid_params",
            alice,
            "add_task",
            {"title": "x", "priority": "urgent"},
        )
        self.db_check(
            "a refused add_task stored no task and no list",
            lambda: self.db.ids("alice", "t.title = 'x'") == []
            and all(lst["name"] != f"Never {mode}" for lst in self.db.lists("alice")),
        )

        # add_tasks: four good items and a bad one; the bad one does not stop the others.
        items = [
            {"title": f"Call mom {word}", "priority": "low"},
            {"title": f"Pay rent {word}", "list": shop, "tags": [tag]},
            {"title": f"Bad {word}", "tags": ["two words"]},
            {"title": f"Bake bread {word}", "list": shop.upper()},
            {"title": f"Crème brûlée {word}", "tags": ["dessert"]},
        ]
        result = await self.call(alice, "add_tasks", {"tasks": items})
        if result is None:
            return
        results = (result.structured_content or {}).get("results") or []
        self.check(
            "add_tasks answers one result per item",
            not result.is_error and len(results) == len(items),
            f"isError={result.is_error} {text_of(result)!r} {results}",
        )
        if len(results) != len(items):
            return
        bad = results[2]
        self.check(
            "add_tasks: the bad item has an error and no task",
            "task" not in bad and "invalid tags" in (bad.get("error") or ""),
            bad,
        )
        good = [results[i].get("task") or {} for i in (0, 1, 3, 4)]
        self.check(
            "add_tasks: the other items are created, in order",
            [t.get("status") for t in good] == ["created"] * 4
            and [t.get("title") for t in good] == [items[i]["title"] for i in (0, 1, 3, 4)]
            and all("error" not in results[i] for i in (0, 1, 3, 4)),
            results,
        )
        mom, rent, bread, brulee = (t.get("task_id") for t in good)
        if not all(isinstance(i, int) for i in (mom, rent, bread, brulee)):
            return
        self.state["alice"].update({mom, rent, bread, brulee})
        self.check(
            "add_tasks: an existing list in another case is that list",
            good[2].get("list") == shop and good[1].get("list") == shop,
            good,
        )
        self.check(
            "add_tasks text has a line per item",
            text_of(result).splitlines()[2].startswith("Task 3 not added: invalid tags"),
            text_of(result),
        )
        self.db_check(
            "add_tasks stored the four good items and not the bad one",
            lambda: self.db.ids("alice", f"t.title LIKE '%{word}'") == sorted([milk, mom, rent, bread, brulee]),
            lambda: self.db.ids("alice", f"t.title LIKE '%{word}'"),
        )
        self.db_check(
            "add_tasks stored each item's priority, list and tags",
            lambda: [
                (r["priority"], r["list"], r["tags"])
                for r in (self.db.task("alice", i) for i in (mom, rent, bread, brulee))
            ]
            == [(1, None, []), (0, shop, [tag]), (0, shop, []), (0, None, ["dessert"])],
            lambda: [self.db.task("alice", i) for i in (mom, rent, bread, brulee)],
        )
        too_many = [{"title": f"t{i} {word}"} for i in range(26)]
        await self.tool_error(
            "add_tasks with 26 items is isError", alice, "add_tasks", {"tasks": too_many}, "invalid tasks"
        )
        self.db_check(
            "add_tasks with 26 items stored none",
            lambda: self.db.ids("alice", f"t.title LIKE 't% {word}'") == [],
        )

        # list_tasks filters: search (word starts, accents ignored), list, tag, priority, views.
        mine = {milk, mom, rent, bread, brulee}
        for arguments, expected, name in [
            ({"q": word}, mine, "q finds the word in every title"),
            ({"q": f"CREME {word}"}, {brulee}, "q ignores case and accents"),
            ({"q": f"brul {word}"}, {brulee}, "q matches word starts"),
            ({"q": f"rulee {word}"}, set(), "q matches only word starts"),
            ({"list": shop}, {milk, rent, bread}, "list by name"),
            ({"list": shop.lower(), "tag": tag}, {milk, rent}, "list and tag together"),
            ({"tag": f"#{tag.upper()}"}, {milk, rent}, "tag with '#' in any case"),
            ({"q": word, "priority": "high"}, {milk}, "priority high"),
            ({"q": word, "priority": "low"}, {mom}, "priority low"),
            ({"q": word, "view": "no_date"}, mine - {milk}, "view no_date"),
            ({"q": word, "view": "upcoming"}, set(), "view upcoming"),
            ({"q": word, "list": "Inbox"}, {mom, brulee}, "list Inbox: the tasks on no list"),
        ]:
            ids = await self.ids_of(alice, arguments)
            self.check(f"list_tasks {name}", ids == expected, f"{arguments}: {ids} != {expected}")
        self.db_check(
            "list_tasks list filter = the tasks stored on that list",
            lambda: set(
                self.db.ids(
                    "alice", f"t.list_id = (SELECT id FROM lists WHERE user_id = 'alice' AND name = {sql_text(shop)})"
                )
            )
            == {milk, rent, bread},
        )
        sc = await self.listing(alice, {"q": word, "list": shop})
        if sc is not None:
            task = next((t for t in sc["tasks"] if t["id"] == milk), {})
            self.check(
                "list_tasks shows a task's priority, list, tags and due",
                task.get("priority") == "high"
                and task.get("list") == shop
                and task.get("tags") == [tag, "dairy"]
                and (task.get("due") or {}).get("date") == "2030-12-24"
                and (task.get("due") or {}).get("time") == "09:30",
                task,
            )

        # Paging: limit 2 through the five tasks by next_cursor; the total stays 5.
        seen: list[int] = []
        totals: list[int] = []
        arguments: dict[str, Any] = {"q": word, "sort": "title", "limit": 2}
        first_cursor = None
        for _ in range(10):
            sc = await self.listing(alice, arguments)
            if sc is None:
                break
            seen.extend(t["id"] for t in sc["tasks"])
            totals.append(sc["total"])
            if sc["next_cursor"] is None:
                break
            first_cursor = first_cursor or sc["next_cursor"]
            arguments = {**arguments, "cursor": sc["next_cursor"]}
        self.check(
            "list_tasks pages of 2 by next_cursor: 3 pages, each task once, total 5 on each",
            len(totals) == 3 and totals == [5, 5, 5] and sorted(seen) == sorted(mine),
            f"pages totals {totals}, ids {seen}",
        )
        titles = await self.listing(alice, {"q": word, "sort": "title"})
        if titles is not None:
            self.check(
                "the pages follow the title order",
                [t["id"] for t in titles["tasks"]] == seen,
                (seen, [t["title"] for t in titles["tasks"]]),
            )
        if first_cursor:
            await self.tool_error(
                "a cursor reused with another sort is isError",
                alice,
                "list_tasks",
                {"q": word, "sort": "created", "limit": 2, "cursor": first_cursor},
                "invalid cursor",
            )
            await self.tool_error(
                "a cursor reused with another filter is isError",
                alice,
                "list_tasks",
                {"q": word, "sort": "title", "limit": 2, "cursor": first_cursor, "list": shop},
                "invalid cursor",
            )
        await self.tool_error("list_tasks with limit 0 is isError", alice, "list_tasks", {"limit": 0}, "limit")

        # list_lists: the Inbox first, then the lists with their counts.
        result = await self.call(alice, "complete_task", {"task_id": bread})
        sc = (result.structured_content or {}) if result is not None else {}
        self.check(
            "complete_task of a task on a list answers its list",
            result is not None and not result.is_error and sc.get("status") == "completed" and sc.get("list") == shop,
            sc,
        )
        lists = await self.lists(alice)
        if lists is not None:
            entry = next((lst for lst in lists if lst["name"] == shop), None)
            self.check(
                "list_lists: the Inbox (id 0) first",
                bool(lists) and lists[0]["id"] == 0 and lists[0]["name"] == "Inbox",
                lists,
            )
            self.check(
                f"list_lists: {shop} has 2 pending of 3",
                entry is not None and (entry["pending"], entry["total"]) == (2, 3),
                entry,
            )
            self.db_check(
                "list_lists counts are the stored ones",
                lambda: [
                    {"id": lst["id"], "name": lst["name"], "pending": lst["pending"], "total": lst["total"]}
                    for lst in self.db.lists("alice")
                ]
                == sorted((lst for lst in lists if lst["id"] != 0), key=lambda lst: lst["id"]),
                lambda: (self.db.lists("alice"), lists),
            )

        # update_task: null clears the priority, the list and the tags.
        result = await self.call(
            alice, "update_task", {"task_id": milk, "priority": None, "list": None, "tags": None}
        )
        if result is not None:
            sc = result.structured_content or {}
            self.check(
                "update_task with nulls answers no priority, list or tags",
                not result.is_error
                and sc
                == {
                    "task_id": milk,
                    "status": "updated",
                    "title": f"Buy milk {word}",
                    "due": "Tue 24 Dec 2030, 09:30",
                },
                f"isError={result.is_error} {sc} {text_of(result)!r}",
            )
        row = self.stored("alice", milk)
        self.db_check(
            "update_task with nulls stored priority 0, no tags, the Inbox; the due stays",
            lambda: row is not None
            and (row["priority"], row["tags"], row["list_id"], row["due_date"]) == (0, [], None, "2030-12-24"),
            row,
        )
        result = await self.call(alice, "get_task", {"task_id": milk})
        if result is not None:
            sc = result.structured_content or {}
            self.check(
                "get_task after the nulls: priority none, the Inbox, no tags",
                (sc.get("priority"), sc.get("list"), sc.get("tags")) == ("none", "Inbox", []),
                sc,
            )
        await self.call(alice, "update_task", {"task_id": rent, "tags": [], "list": "inbox", "priority": "medium"})
        row = self.stored("alice", rent)
        self.db_check(
            "update_task with [], 'inbox' and 'medium' stored them",
            lambda: row is not None and (row["priority"], row["tags"], row["list_id"]) == (2, [], None),
            row,
        )
        ids = await self.ids_of(alice, {"list": shop})
        self.check(f"{shop} now holds only the completed task", ids == {bread}, ids)

        # Isolation: bob sees none of alice's tasks or lists, even by her list's name.
        for arguments in [{"list": shop}, {"q": word}, {"tag": tag}, {"priority": "high"}]:
            ids = await self.ids_of(bob, arguments)
            self.check(
                f"bob's list_tasks {arguments} shows none of alice's",
                ids is not None and not (ids & mine) and ids <= self.state["bob"],
                ids,
            )
        lists = await self.lists(bob)
        self.check(
            "bob's list_lists is his Inbox alone",
            lists == [{"id": 0, "name": "Inbox", "pending": len(self.state["bob"]), "total": len(self.state["bob"])}],
            lists,
        )
        self.db_check(
            "bob's calls created no list of his",
            lambda: self.db.lists("bob") == [],
            lambda: self.db.lists("bob"),
        )

    async def lists(self, client: Client) -> list[dict] | None:
        result = await self.call(client, "list_lists", {})
        if result is None:
            return None
        sc = result.structured_content or {}
        if not self.check(
            "list_lists answers {lists: [...]}",
            not result.is_error and list(sc) == ["lists"] and isinstance(sc["lists"], list),
            sc,
        ):
            return None
        return sc["lists"]

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
    db = Database(os.environ["DATABASE_URL"]) if os.environ.get("DATABASE_URL") else None
    await http_refusals(checks, url, alice_token)
    for mode in ["legacy", "auto"]:
        try:
            async with AsyncExitStack() as stack:
                alice = await connect(stack, url, alice_token, mode)
                bob = await connect(stack, url, bob_token, mode)
                await Suite(checks, mode, alice, bob, state, db).run()
                await latency(checks, mode, alice, args.calls, state)
        except Exception as err:  # noqa: BLE001 - a crash of one mode is one failed check
            checks.check(f"[{mode}] the suite ran to its end", False, repr(err))

    print(f"mcp client: {checks.passed} passed, {checks.failed} failed")
    return 0 if checks.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
