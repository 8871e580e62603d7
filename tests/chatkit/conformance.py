#!/usr/bin/env python3
"""ChatKit protocol conformance: our `POST /chatkit` against the official `openai-chatkit` models.

A black-box client (stdlib HTTP + the pinned `openai-chatkit` pydantic models, nothing else) that runs
a scripted ChatKit session against a running `smart-todo serve` with the offline assistant (no
OPENAI_API_KEY), as two users. It checks

  * every SSE frame: exact `data: <json>\\n\\n` framing, `TypeAdapter(ThreadStreamEvent)
    .validate_json(frame, strict=True)`, the drift check (a key the schema does not know, or a value
    that does not survive the model's round trip, timestamps compared as instants) and no `null`;
  * every JSON reply the same way with its model (`Thread`, `Page[Thread]`, `Page[ThreadItem]`, `{}`),
    and every error reply as RFC 9457 problem+json with the right status;
  * the request bodies it sends are built from the SDK's request models (`ThreadsCreateReq(...)`, ...)
    and serialized like the browser does (nulls omitted), plus the browser-observed shapes
    (`quoted_text: ""`, `inference_options: {}`, `threads.list {"limit": 9999, "order": "desc"}`) and
    once the SDK's default serialization with explicit nulls;
  * behaviour: event order, streamed text, `client_effect` after a write tool, the title on the first
    turn, resumability (items streamed with `thread.item.done` == `threads.get_by_id` + `items.list`
    paging afterwards), listing and ordering, rename, retry, feedback, delete, auth and per-user
    isolation.

    python tests/chatkit/conformance.py --base-url http://127.0.0.1:8080 --token-a A --token-b B
    (or CHATKIT_BASE_URL (or SERVE_URL), ALICE_TOKEN, BOB_TOKEN in the environment)

Prints one line per check and ends with `chatkit conformance: N passed, M failed`; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import sys
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402  (tests/lib, shared by the protocol clients)

from chatkit.types import (
    ChatKitReq,
    InferenceOptions,
    ItemFeedbackParams,
    ItemsFeedbackReq,
    ItemsListParams,
    ItemsListReq,
    Page,
    Thread,
    StructuredInputAnswerSubmission,
    StructuredInputSubmission,
    ThreadAddStructuredInputParams,
    ThreadAddUserMessageParams,
    ThreadCreateParams,
    ThreadDeleteParams,
    ThreadGetByIdParams,
    ThreadItem,
    ThreadListParams,
    ThreadRetryAfterItemParams,
    ThreadsAddStructuredInputReq,
    ThreadsAddUserMessageReq,
    ThreadsCreateReq,
    ThreadsDeleteReq,
    ThreadsGetByIdReq,
    ThreadsListReq,
    ThreadsRetryAfterItemReq,
    ThreadStreamEvent,
    ThreadsUpdateReq,
    ThreadUpdateParams,
    UserMessageInput,
    UserMessageTextContent,
)
from pydantic import TypeAdapter, ValidationError

EVENTS = TypeAdapter(ThreadStreamEvent)
THREAD = TypeAdapter(Thread)
THREAD_PAGE = TypeAdapter(Page[Thread])
ITEM_PAGE = TypeAdapter(Page[ThreadItem])
REQUEST = TypeAdapter(ChatKitReq)

HIDDEN_ITEM_TYPES = {"hidden_context_item", "sdk_hidden_context"}
ADDED_RE = re.compile(r'^Added "Buy groceries" to your list as task (\d+)\.$')
# The browser-observed UserMessageInput (docs/chatkit-protocol.md, "Requests").
BROWSER_INPUT = {"content": [{"type": "input_text", "text": ""}], "quoted_text": "", "attachments": [], "inference_options": {}}
STREAM_TIMEOUT = 60.0


# ---------------------------------------------------------------------------------------------------
# Checks and generic JSON helpers
# ---------------------------------------------------------------------------------------------------


def clip(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def nulls(value: Any, path: str = "$") -> list[str]:
    """JSON paths holding `null` (ChatKit omits nulls)."""
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in nulls(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in nulls(v, f"{path}[{i}]")]
    return []


def as_instant(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def drift(raw: Any, dumped: Any, path: str = "$") -> list[str]:
    """Differences between what the server sent and the model's `exclude_unset` round trip.

    A key the model dropped is one the schema does not know (extra or misspelt); a changed value is
    one the model coerced. Timestamps are compared as instants (`+00:00` re-serializes as `Z`, and
    whole seconds lose their `.000000`).
    """
    if isinstance(raw, dict) and isinstance(dumped, dict):
        out = [f"{path}.{k}: key not in the schema" for k in raw if k not in dumped]
        out += [f"{path}.{k}: added by the model" for k in dumped if k not in raw]
        for k in raw:
            if k in dumped:
                out += drift(raw[k], dumped[k], f"{path}.{k}")
        return out
    if isinstance(raw, list) and isinstance(dumped, list):
        if len(raw) != len(dumped):
            return [f"{path}: {len(raw)} elements became {len(dumped)}"]
        return [p for i, (r, d) in enumerate(zip(raw, dumped, strict=True)) for p in drift(r, d, f"{path}[{i}]")]
    if raw == dumped and type(raw) is type(dumped):
        return []
    if isinstance(raw, str) and isinstance(dumped, str):
        a, b = as_instant(raw), as_instant(dumped)
        if a is not None and b is not None and (a.tzinfo is None) == (b.tzinfo is None) and a == b:
            return []
    return [f"{path}: sent {raw!r}, model re-serializes {dumped!r}"]


def timestamps(value: Any, path: str = "$") -> list[tuple[str, str]]:
    """Every `created_at` in a payload, with its path."""
    out: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "created_at" and isinstance(v, str):
                out.append((f"{path}.{k}", v))
            else:
                out += timestamps(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += timestamps(v, f"{path}[{i}]")
    return out


def all_items(value: Any) -> list[dict]:
    """Every object in a payload that looks like a ThreadItem (has `thread_id` and a `type`)."""
    out: list[dict] = []
    if isinstance(value, dict):
        if "thread_id" in value and "type" in value:
            out.append(value)
        for v in value.values():
            out += all_items(v)
    elif isinstance(value, list):
        for v in value:
            out += all_items(v)
    return out


def is_uuid(text: Any) -> bool:
    try:
        return isinstance(text, str) and str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def text_of(item: dict) -> str:
    return "".join(part.get("text", "") for part in item.get("content", []))


# ---------------------------------------------------------------------------------------------------
# Validation against the official models
# ---------------------------------------------------------------------------------------------------


@dataclass
class Validation:
    """What validating a batch of payloads against one model found."""

    schema_errors: list[str] = field(default_factory=list)
    drift_errors: list[str] = field(default_factory=list)
    null_errors: list[str] = field(default_factory=list)
    zone_errors: list[str] = field(default_factory=list)
    hidden_errors: list[str] = field(default_factory=list)


def validate(adapter: TypeAdapter, raw: str, found: Validation, label: str) -> Any:
    """Strict validation + drift + nulls + timestamp zones + hidden items; returns the parsed JSON."""
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as err:
        found.schema_errors.append(f"{label}: not JSON ({err}): {clip(raw)}")
        return None
    try:
        model = adapter.validate_json(raw, strict=True)
    except ValidationError as err:
        found.schema_errors.append(f"{label}: {clip(raw)}\n    pydantic: {err}")
    else:
        dumped = json.loads(adapter.dump_json(model, exclude_unset=True))
        for difference in drift(parsed, dumped):
            found.drift_errors.append(f"{label}: {difference} in {clip(raw)}")
    for path in nulls(parsed):
        found.null_errors.append(f"{label}: null at {path} in {clip(raw)}")
    for path, stamp in timestamps(parsed):
        at = as_instant(stamp)
        if at is None or at.tzinfo is None or at.utcoffset().total_seconds() != 0 or not stamp.endswith("Z"):
            found.zone_errors.append(f"{label}: {path} = {stamp!r}")
    for item in all_items(parsed):
        if item.get("type") in HIDDEN_ITEM_TYPES:
            found.hidden_errors.append(f"{label}: {item.get('type')} item {item.get('id')}")
    return parsed


def report(checks: Checks, name: str, found: Validation, what: str) -> bool:
    """One check line per property of a batch."""
    ok = checks.check(f"{name}: {what} (strict)", not found.schema_errors, "\n  " + "\n  ".join(found.schema_errors))
    ok &= checks.check(f"{name}: no drift from the schema", not found.drift_errors, "\n  " + "\n  ".join(found.drift_errors))
    ok &= checks.check(f"{name}: no null values", not found.null_errors, "\n  " + "\n  ".join(found.null_errors))
    ok &= checks.check(f"{name}: timestamps are RFC 3339 UTC (Z)", not found.zone_errors, "; ".join(found.zone_errors))
    ok &= checks.check(f"{name}: no hidden-context items", not found.hidden_errors, "; ".join(found.hidden_errors))
    return ok


# ---------------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    content_type: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Server:
    """POSTs to `<base>/chatkit` with the stdlib HTTP client."""

    def __init__(self, base_url: str) -> None:
        parsed = urllib.parse.urlsplit(base_url.rstrip("/"))
        if parsed.scheme not in ("http", "https"):
            raise SystemExit(f"--base-url must be http(s)://host:port, got {base_url!r}")
        self.scheme = parsed.scheme
        self.netloc = parsed.netloc
        self.path = (parsed.path or "") + "/chatkit"

    def post(self, body: str | bytes, token: str | None, content_type: str = "application/json") -> Reply:
        conn_cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(self.netloc, timeout=STREAM_TIMEOUT)
        headers = {"Content-Type": content_type, "Accept": "*/*", "Accept-Language": "en-US"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            conn.request("POST", self.path, body=body if isinstance(body, bytes) else body.encode(), headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            return Reply(resp.status, hdrs.get("content-type", ""), hdrs, data)
        finally:
            conn.close()

    def tasks(self, token: str) -> list[dict]:
        """The user's tasks from the REST API (to see that a turn repeated no effect)."""
        conn_cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(self.netloc, timeout=STREAM_TIMEOUT)
        try:
            conn.request("GET", "/api/tasks?limit=100", headers={"Authorization": f"Bearer {token}"})
            return json.loads(conn.getresponse().read())["tasks"]
        finally:
            conn.close()


def sse_frames(body: bytes) -> tuple[list[str], list[str]]:
    """Splits an SSE body into the JSON of its frames; the second list holds framing violations.

    ChatKit framing (docs/chatkit-protocol.md, "Transport"): every event is exactly
    `data: <compact JSON>\\n\\n`; no `event:`/`id:` fields, no multi-line data. The one comment
    allowed is the keep-alive `: keep-alive\\n\\n` a quiet stream sends (SSE clients skip comments).
    """
    problems: list[str] = []
    text = body.decode("utf-8", errors="replace")
    if not text:
        return [], ["empty stream"]
    if not text.endswith("\n\n"):
        problems.append(f"stream does not end with a blank line: ...{text[-80:]!r}")
    frames: list[str] = []
    for block in text.split("\n\n"):
        if block == "" or block == ": keep-alive":
            continue
        lines = block.split("\n")
        if len(lines) != 1 or not lines[0].startswith("data: "):
            problems.append(f"not a single `data: ` line: {clip(block, 200)!r}")
            continue
        frames.append(lines[0][len("data: ") :])
    if "\r" in text:
        problems.append("carriage return in the stream")
    return frames, problems


# ---------------------------------------------------------------------------------------------------
# Request bodies from the SDK's request models
# ---------------------------------------------------------------------------------------------------


def user_input(text: str) -> UserMessageInput:
    return UserMessageInput(content=[UserMessageTextContent(text=text)], attachments=[], inference_options=InferenceOptions())


def body_of(request: Any, *, nulls_too: bool = False) -> str:
    """Like the browser: nulls omitted; `nulls_too` keeps the SDK's default explicit nulls."""
    raw = request.model_dump_json() if nulls_too else request.model_dump_json(exclude_none=True)
    REQUEST.validate_json(raw)  # our own request must be valid for the SDK, or the test is wrong
    return raw


# ---------------------------------------------------------------------------------------------------
# The session
# ---------------------------------------------------------------------------------------------------


@dataclass
class Turn:
    """A streamed turn, parsed."""

    reply: Reply
    frames: list[str]
    events: list[dict]


class Session:
    def __init__(self, server: Server, alice: str, bob: str, checks: Checks) -> None:
        self.server = server
        self.alice = alice
        self.bob = bob
        self.checks = checks
        # Alice's thread 1 as the client would hold it after every `thread.item.done`, in order.
        self.expected: list[dict] = []
        self.thread_created_at: dict[str, str] = {}
        self.thread1: str | None = None  # Alice's main thread, the one `expected` mirrors

    # -- transport + validation --------------------------------------------------------------------

    def stream(self, name: str, body: str, token: str) -> Turn | None:
        started = time.monotonic()
        reply = self.server.post(body, token)
        elapsed = time.monotonic() - started
        c = self.checks
        if not c.check(
            f"{name}: HTTP 200 text/event-stream",
            reply.status == 200 and reply.content_type.startswith("text/event-stream"),
            f"HTTP {reply.status} {reply.content_type!r}: {clip(reply.body.decode(errors='replace'))}",
        ):
            return None
        frames, problems = sse_frames(reply.body)
        c.check(
            f"{name}: SSE framing is `data: <json>\\n\\n` per event ({len(frames)} frames, {elapsed:.2f} s)",
            not problems,
            "; ".join(problems),
        )
        found = Validation()
        events = []
        for i, raw in enumerate(frames):
            parsed = validate(EVENTS, raw, found, f"frame {i}")
            if isinstance(parsed, dict):
                events.append(parsed)
        report(c, name, found, f"all {len(frames)} frames validate as ThreadStreamEvent")
        errors = [e for e in events if e.get("type") == "error"]
        c.check(f"{name}: no error event", not errors, errors)
        return Turn(reply, frames, events)

    def json_call(self, name: str, body: str, token: str, adapter: TypeAdapter | None, what: str) -> Any:
        """A non-streaming call expected to succeed; `adapter` None means the reply must be `{}`."""
        reply = self.server.post(body, token)
        c = self.checks
        if not c.check(
            f"{name}: HTTP 200 application/json",
            reply.status == 200 and reply.content_type.startswith("application/json"),
            f"HTTP {reply.status} {reply.content_type!r}: {clip(reply.body.decode(errors='replace'))}",
        ):
            return None
        raw = reply.body.decode()
        if adapter is None:
            try:
                parsed = json.loads(raw)
            except json.JSONDecodeError:
                parsed = raw
            c.check(f"{name}: body is {{}}", parsed == {}, clip(raw))
            return parsed
        found = Validation()
        parsed = validate(adapter, raw, found, "reply")
        report(c, name, found, f"reply validates as {what}")
        return parsed

    def task_titles(self) -> list[tuple[int, str, bool]]:
        return [(t["id"], t["title"], t["completed"]) for t in self.server.tasks(self.alice)]

    def get_thread(self, name: str, thread_id: str, token: str) -> Any:
        body = body_of(ThreadsGetByIdReq(params=ThreadGetByIdParams(thread_id=thread_id)))
        return self.json_call(name, body, token, THREAD, "Thread")

    def list_threads(self, name: str, token: str, **params: Any) -> Any:
        body = body_of(ThreadsListReq(params=ThreadListParams(**params)))
        return self.json_call(name, body, token, THREAD_PAGE, "Page[Thread]")

    def list_items(self, name: str, thread_id: str, token: str, **params: Any) -> Any:
        body = body_of(ItemsListReq(params=ItemsListParams(thread_id=thread_id, **params)))
        return self.json_call(name, body, token, ITEM_PAGE, "Page[ThreadItem]")

    def problem(
        self, name: str, body: str | bytes, token: str | None, status: int, content_type: str = "application/json"
    ) -> Reply:
        """A call expected to fail with `status` and an RFC 9457 problem+json body."""
        reply = self.server.post(body, token, content_type)
        detail = f"HTTP {reply.status} {reply.content_type!r}: {clip(reply.body.decode(errors='replace'))}"
        ok = reply.status == status and reply.content_type.startswith("application/problem+json")
        if ok:
            try:
                doc = reply.json()
                ok = (
                    isinstance(doc, dict)
                    and doc.get("status") == status
                    and all(isinstance(doc.get(k), str) for k in ("type", "title", "detail"))
                )
            except json.JSONDecodeError:
                ok = False
        self.checks.check(f"{name}: HTTP {status} problem+json", ok, detail)
        return reply

    # -- turn checks ---------------------------------------------------------------------------------

    def check_turn(self, name: str, turn: Turn, thread_id: str | None, sent: str | None, *, created: bool) -> dict | None:
        """Order and content of one turn's events; returns the final assistant item."""
        c = self.checks
        ev = turn.events
        types = [e.get("type") for e in ev]
        if created:
            ok = c.check(f"{name}: thread.created is the first event", types[:1] == ["thread.created"], types[:3])
            if ok:
                thread = ev[0]["thread"]
                thread_id = thread.get("id")
                c.check(
                    f"{name}: the new thread has a UUID id, no title, status active, empty items",
                    is_uuid(thread_id)
                    and "title" not in thread
                    and thread.get("status") == {"type": "active"}
                    and thread.get("items") == {"data": [], "has_more": False},
                    thread,
                )
                self.thread_created_at[thread_id] = thread.get("created_at")
        else:
            c.check(f"{name}: no thread.created on an existing thread", "thread.created" not in types, types)

        done = [(i, e["item"]) for i, e in enumerate(ev) if e.get("type") == "thread.item.done"]
        user_done = [(i, it) for i, it in done if it.get("type") == "user_message"]
        assistant_done = [(i, it) for i, it in done if it.get("type") == "assistant_message"]
        first_assistant = min(
            [i for i, e in enumerate(ev) if e.get("type") in ("thread.item.added", "thread.item.updated")]
            + [i for i, _ in assistant_done]
            + [len(ev)]
        )
        if sent is not None:
            ok = c.check(f"{name}: one user_message thread.item.done", len(user_done) == 1, [it for _, it in user_done])
            if ok:
                at, user_item = user_done[0]
                c.check(
                    f"{name}: the user_message is done before the assistant starts",
                    at < first_assistant,
                    f"user done at {at}, assistant starts at {first_assistant}: {types}",
                )
                c.check(
                    f"{name}: the user_message holds the text sent and a UUID id",
                    user_item.get("content") == [{"type": "input_text", "text": sent}] and is_uuid(user_item.get("id")),
                    user_item,
                )
        ok = c.check(f"{name}: exactly one assistant_message thread.item.done", len(assistant_done) == 1, types)
        if not ok:
            return None
        at_done, final = assistant_done[0]
        reply_id = final.get("id")
        c.check(f"{name}: the assistant item has a UUID id", is_uuid(reply_id), reply_id)
        added = [(i, e["item"]) for i, e in enumerate(ev) if e.get("type") == "thread.item.added"]
        c.check(
            f"{name}: thread.item.added(assistant_message, empty content) precedes its updates and done",
            len(added) == 1
            and added[0][1].get("id") == reply_id
            and added[0][1].get("type") == "assistant_message"
            and added[0][1].get("content") == []
            and added[0][0] < at_done,
            added,
        )
        updates = [(i, e) for i, e in enumerate(ev) if e.get("type") == "thread.item.updated"]
        c.check(
            f"{name}: every thread.item.updated names the assistant item and comes between added and done",
            all(e.get("item_id") == reply_id and added and added[0][0] < i < at_done for i, e in updates),
            [(i, e.get("item_id")) for i, e in updates],
        )
        deltas = [e["update"] for _, e in updates if e["update"].get("type") == "assistant_message.content_part.text_delta"]
        c.check(
            f"{name}: text deltas stream on content_index 0",
            deltas and all(d.get("content_index") == 0 for d in deltas),
            deltas[:3],
        )
        streamed = "".join(d.get("delta", "") for d in deltas)
        final_text = text_of(final)
        c.check(
            f"{name}: text deltas concatenate to the final assistant text",
            streamed == final_text,
            f"deltas {streamed!r} != final {final_text!r}",
        )
        parts_done = [e["update"] for _, e in updates if e["update"].get("type") == "assistant_message.content_part.done"]
        if parts_done:
            c.check(
                f"{name}: content_part.done carries the final text",
                all(p.get("content", {}).get("text") == final_text for p in parts_done),
                parts_done,
            )
        c.check(
            f"{name}: the final assistant item is one output_text part",
            len(final.get("content", [])) == 1 and final["content"][0].get("type") == "output_text",
            final.get("content"),
        )
        wrong_thread = [it for it in all_items(ev) if it.get("thread_id") != thread_id]
        c.check(f"{name}: every item belongs to the thread", not wrong_thread and thread_id is not None, wrong_thread)
        for e in ev:  # what a client holds after the stream: done items, in order, replaced by id
            if e.get("type") == "thread.item.done":
                self.remember(e["item"], thread_id)
        return final

    def remember(self, item: dict, thread_id: str | None) -> None:
        if thread_id != self.thread1:
            return
        for i, known in enumerate(self.expected):
            if known.get("id") == item.get("id"):
                self.expected[i] = item
                return
        self.expected.append(item)

    def effects(self, turn: Turn) -> list[tuple[int, dict]]:
        return [(i, e) for i, e in enumerate(turn.events) if e.get("type") == "client_effect"]

    def assistant_done_at(self, turn: Turn) -> int:
        return next(
            (
                i
                for i, e in enumerate(turn.events)
                if e.get("type") == "thread.item.done" and e["item"].get("type") == "assistant_message"
            ),
            len(turn.events),
        )

    # -- paging -------------------------------------------------------------------------------------

    def page_items(
        self,
        name: str,
        thread_id: str,
        token: str,
        order: str | None,
        limit: int | None,
        first_after: str | None = None,
        max_pages: int = 50,
    ) -> tuple[list[dict], list[dict]]:
        """Follows items.list `after` cursors to the end; returns (items, pages)."""
        items: list[dict] = []
        pages: list[dict] = []
        after = first_after
        for n in range(max_pages):
            params: dict[str, Any] = {"thread_id": thread_id, "after": after, "limit": limit}
            if order is not None:
                params["order"] = order
            body = body_of(ItemsListReq(params=ItemsListParams(**params)))
            if order is None:  # the model fills in its default; send none, as a client may
                doc = json.loads(body)
                doc["params"].pop("order", None)
                body = json.dumps(doc)
            page = self.json_call(f"{name} page {n + 1}", body, token, ITEM_PAGE, "Page[ThreadItem]")
            if not isinstance(page, dict):
                break
            pages.append(page)
            items += page.get("data", [])
            if not page.get("has_more"):
                break
            after = page.get("after")
            if not self.checks.check(
                f"{name} page {n + 1}: has_more comes with an `after` cursor equal to the last id",
                after is not None and page["data"] and after == page["data"][-1].get("id"),
                page.get("after"),
            ):
                break
        return items, pages

    # -- the script ---------------------------------------------------------------------------------

    def run(self) -> None:
        c = self.checks
        self.preflight()

        # 1. threads.create with the browser-observed input shape.
        browser = UserMessageInput.model_validate(
            {**BROWSER_INPUT, "content": [{"type": "input_text", "text": "Add a task to buy groceries"}]}
        )
        body = body_of(ThreadsCreateReq(params=ThreadCreateParams(input=browser)))
        c.check(
            "request: the browser-observed input shape is what the SDK model serializes",
            json.loads(body)["params"]["input"]
            == {**BROWSER_INPUT, "content": [{"type": "input_text", "text": "Add a task to buy groceries"}]},
            body,
        )
        turn = self.stream("threads.create (browser input shape)", body, self.alice)
        if turn is None or not turn.events or turn.events[0].get("type") != "thread.created":
            c.check("threads.create: a thread to continue the session with", False, "no thread.created: later checks skipped")
            return
        self.thread1 = turn.events[0]["thread"]["id"]
        t1 = self.thread1
        final = self.check_turn("threads.create", turn, None, "Add a task to buy groceries", created=True)
        added_task = ADDED_RE.match(text_of(final or {}))
        c.check(
            'threads.create: the offline assistant answers "Added \\"Buy groceries\\" to your list as task N."',
            added_task is not None,
            text_of(final or {}),
        )
        task_id = added_task.group(1) if added_task else "1"
        effects = self.effects(turn)
        progress = [i for i, e in enumerate(turn.events) if e.get("type") == "progress_update"]
        c.check(
            "threads.create: client_effect `tasks_changed` after the write tool (add_task), before the reply is done",
            any(
                e.get("name") == "tasks_changed" and i < self.assistant_done_at(turn) and all(p < i for p in progress[:1])
                for i, e in effects
            ),
            [e for _, e in effects],
        )
        updated = [(i, e["thread"]) for i, e in enumerate(turn.events) if e.get("type") == "thread.updated"]
        c.check(
            "threads.create: thread.updated carries a title on the first turn, after the reply is done",
            len(updated) == 1
            and updated[0][1].get("id") == t1
            and isinstance(updated[0][1].get("title"), str)
            and updated[0][1]["title"].strip() != ""
            and updated[0][0] > self.assistant_done_at(turn)
            and updated[0][1].get("created_at") == self.thread_created_at.get(t1)
            and updated[0][1].get("items") == {"data": [], "has_more": False},
            updated,
        )
        title = updated[0][1].get("title") if updated else None

        # 2. add_user_message, serialized like the browser (nulls omitted); a read-only tool.
        body = body_of(
            ThreadsAddUserMessageReq(params=ThreadAddUserMessageParams(thread_id=t1, input=user_input("What's pending?")))
        )
        turn = self.stream("threads.add_user_message (SDK model, nulls omitted)", body, self.alice)
        if turn:
            final = self.check_turn("add_user_message 'What's pending?'", turn, t1, "What's pending?", created=False)
            c.check(
                "add_user_message 'What's pending?': the answer lists the new task",
                f"#{task_id} Buy groceries" in text_of(final or {}),
                text_of(final or {}),
            )
            c.check(
                "add_user_message 'What's pending?': no tasks_changed effect after a read-only tool",
                not any(e.get("name") == "tasks_changed" for _, e in self.effects(turn)),
                self.effects(turn),
            )
            c.check(
                "add_user_message 'What's pending?': no thread.updated once the thread has a title",
                not any(e.get("type") == "thread.updated" for e in turn.events),
                [e.get("type") for e in turn.events],
            )

        # 3. add_user_message with the SDK's default serialization (explicit nulls in the request).
        text = f"Mark task {task_id} as complete"
        body = body_of(
            ThreadsAddUserMessageReq(params=ThreadAddUserMessageParams(thread_id=t1, input=user_input(text))), nulls_too=True
        )
        c.check("request: the SDK default serialization carries explicit nulls", '"quoted_text":null' in body, body)
        turn = self.stream("threads.add_user_message (SDK model, explicit nulls)", body, self.alice)
        if turn:
            final = self.check_turn(f"add_user_message '{text}'", turn, t1, text, created=False)
            c.check(
                f"add_user_message '{text}': the task is marked complete",
                text_of(final or {}) == f'Marked task {task_id} "Buy groceries" as complete.',
                text_of(final or {}),
            )
            c.check(
                f"add_user_message '{text}': client_effect tasks_changed after the write tool (complete_task)",
                any(e.get("name") == "tasks_changed" and i < self.assistant_done_at(turn) for i, e in self.effects(turn)),
                self.effects(turn),
            )

        # 4. Enough short turns for more than one page of items (> 20).
        for n, greeting in enumerate(["hello", "help", "hi", "hello", "hey", "help", "hi", "hello", "what can you do"]):
            body = body_of(ThreadsAddUserMessageReq(params=ThreadAddUserMessageParams(thread_id=t1, input=user_input(greeting))))
            turn = self.stream(f"add_user_message #{n + 4} {greeting!r}", body, self.alice)
            if turn:
                final = self.check_turn(f"add_user_message #{n + 4} {greeting!r}", turn, t1, greeting, created=False)
                c.check(
                    f"add_user_message #{n + 4} {greeting!r}: the help text",
                    text_of(final or {}).startswith("I manage your todo list."),
                    text_of(final or {}),
                )

        # 5. Resumability: what was streamed is what a reload returns.
        self.resume("after 12 turns", t1, title)

        # 6. Rename.
        renamed = "Groceries and greetings"
        thread = self.json_call(
            "threads.update",
            body_of(ThreadsUpdateReq(params=ThreadUpdateParams(thread_id=t1, title=renamed))),
            self.alice,
            THREAD,
            "Thread",
        )
        if isinstance(thread, dict):
            c.check(
                "threads.update: the reply is the thread renamed, with empty items",
                thread.get("id") == t1
                and thread.get("title") == renamed
                and thread.get("items") == {"data": [], "has_more": False}
                and thread.get("created_at") == self.thread_created_at.get(t1),
                thread,
            )
        thread = self.get_thread("threads.get_by_id after rename", t1, self.alice)
        if isinstance(thread, dict):
            c.check("threads.get_by_id after rename: the new title", thread.get("title") == renamed, thread.get("title"))

        # 7. More threads for the listing checks.
        others = []
        for text in ["What's pending?", "hello"]:
            body = body_of(ThreadsCreateReq(params=ThreadCreateParams(input=user_input(text))))
            turn = self.stream(f"threads.create {text!r}", body, self.alice)
            if turn and turn.events and turn.events[0].get("type") == "thread.created":
                self.check_turn(f"threads.create {text!r}", turn, None, text, created=True)
                others.append(turn.events[0]["thread"]["id"])
        self.listing(t1, renamed, others)

        # 8. Another user, and the error paths.
        self.isolation(t1, renamed, others)
        self.errors(t1)

        # 9. Retry after the first user message.
        self.retry(t1, renamed)

        # 9b. A change to several tasks asks with a structured input item; its Yes answers it.
        self.confirmation()

        # 10. Feedback, then delete.
        assistant_ids = [it["id"] for it in self.expected if it.get("type") == "assistant_message"]
        self.json_call(
            "items.feedback",
            body_of(ItemsFeedbackReq(params=ItemFeedbackParams(thread_id=t1, item_ids=assistant_ids[-1:], kind="positive"))),
            self.alice,
            None,
            "{}",
        )
        self.json_call(
            "threads.delete", body_of(ThreadsDeleteReq(params=ThreadDeleteParams(thread_id=t1))), self.alice, None, "{}"
        )
        self.problem(
            "threads.get_by_id after delete",
            body_of(ThreadsGetByIdReq(params=ThreadGetByIdParams(thread_id=t1))),
            self.alice,
            404,
        )
        self.problem("items.list after delete", body_of(ItemsListReq(params=ItemsListParams(thread_id=t1))), self.alice, 404)
        self.problem("threads.delete again", body_of(ThreadsDeleteReq(params=ThreadDeleteParams(thread_id=t1))), self.alice, 404)
        page = self.list_threads("threads.list after delete", self.alice, limit=100)
        if isinstance(page, dict):
            ids = [t.get("id") for t in page.get("data", [])]
            c.check(
                "threads.list after delete: the deleted thread is gone, the others remain",
                t1 not in ids and all(o in ids for o in others),
                ids,
            )

    def preflight(self) -> None:
        """Auth before anything else: no token, a bad token."""
        body = body_of(ThreadsListReq(params=ThreadListParams()))
        reply = self.problem("no token: threads.list", body, None, 401)
        self.checks.check(
            "no token: WWW-Authenticate: Bearer",
            reply.headers.get("www-authenticate", "").lower().startswith("bearer"),
            reply.headers.get("www-authenticate"),
        )
        self.problem("garbage token: threads.list", body, "not-a-jwt", 401)
        create = body_of(ThreadsCreateReq(params=ThreadCreateParams(input=user_input("hello"))))
        self.problem("no token: threads.create (streaming type)", create, None, 401)

    def resume(self, name: str, t1: str, title: str | None) -> None:
        c = self.checks
        expected = list(self.expected)
        n = len(expected)
        c.check(f"resume {name}: the session streamed more than one page of items", n > 20, n)
        thread = self.get_thread(f"resume {name}: threads.get_by_id", t1, self.alice)
        if not isinstance(thread, dict):
            return
        c.check(
            f"resume {name}: threads.get_by_id thread fields (id, title, created_at, status)",
            thread.get("id") == t1
            and thread.get("title") == title
            and thread.get("created_at") == self.thread_created_at.get(t1)
            and thread.get("status") == {"type": "active"},
            {k: v for k, v in thread.items() if k != "items"},
        )
        first = thread.get("items", {})
        data = first.get("data", [])
        c.check(
            f"resume {name}: get_by_id items = the first 20 streamed items, oldest first",
            data == expected[:20],
            first_difference(data, expected[:20]),
        )
        c.check(
            f"resume {name}: get_by_id page has_more with after = the 20th id",
            first.get("has_more") is (n > 20) and (n <= 20 or first.get("after") == expected[19].get("id")),
            {k: v for k, v in first.items() if k != "data"},
        )
        rest, _ = self.page_items(
            f"resume {name}: items.list asc after get_by_id's cursor", t1, self.alice, "asc", None, first_after=first.get("after")
        )
        c.check(
            f"resume {name}: get_by_id + items.list asc paging = every streamed item, in order",
            data + rest == expected,
            first_difference(data + rest, expected),
        )
        asc, _ = self.page_items(f"resume {name}: items.list asc limit 5", t1, self.alice, "asc", 5)
        c.check(
            f"resume {name}: items.list asc limit 5, paged with after cursors = the streamed items",
            asc == expected,
            first_difference(asc, expected),
        )
        desc, _ = self.page_items(f"resume {name}: items.list desc limit 7", t1, self.alice, "desc", 7)
        c.check(
            f"resume {name}: items.list desc limit 7, paged = the streamed items newest first",
            desc == expected[::-1],
            first_difference(desc, expected[::-1]),
        )
        default, pages = self.page_items(
            f"resume {name}: items.list default order and limit", t1, self.alice, None, None, max_pages=1
        )
        c.check(
            f"resume {name}: items.list defaults: order desc, limit 20, has_more",
            default == expected[::-1][:20] and bool(pages) and pages[0].get("has_more") is (n > 20),
            first_difference(default, expected[::-1][:20]),
        )
        zero, _ = self.page_items(f"resume {name}: items.list asc limit 0", t1, self.alice, "asc", 0, max_pages=1)
        c.check(
            f"resume {name}: items.list limit 0 means the default 20",
            zero == expected[:20],
            first_difference(zero, expected[:20]),
        )
        big, pages = self.page_items(f"resume {name}: items.list limit 9999", t1, self.alice, "asc", 9999, max_pages=1)
        c.check(
            f"resume {name}: items.list limit 9999 is capped (<= 100) and returns the items",
            len(big) <= 100 and big == expected[:100],
            first_difference(big, expected[:100]),
        )

    def listing(self, t1: str, title: str, others: list[str]) -> None:
        c = self.checks
        mine = [t1] + others
        everything: list[str] = []
        page = self.json_call(
            "threads.list (no params)", '{"type":"threads.list","params":{}}', self.alice, THREAD_PAGE, "Page[Thread]"
        )
        if isinstance(page, dict):
            threads = page.get("data", [])
            ids = [t.get("id") for t in threads]
            everything = ids if not page.get("has_more") else []
            c.check("threads.list: contains every thread of the user", all(t in ids for t in mine), ids)
            c.check(
                "threads.list: every thread has empty items",
                all(t.get("items") == {"data": [], "has_more": False} for t in threads),
                [t.get("items") for t in threads],
            )
            stamps = [as_instant(t.get("created_at", "")) for t in threads]
            c.check(
                "threads.list: default order is desc by creation (newest first)",
                all(a is not None and b is not None and a >= b for a, b in zip(stamps, stamps[1:], strict=False))
                and ids[: len(mine)] == mine[::-1],
                list(zip(ids, [t.get("created_at") for t in threads], strict=True)),
            )
            t1_listed = next((t for t in threads if t.get("id") == t1), {})
            c.check("threads.list: the renamed title", t1_listed.get("title") == title, t1_listed)
        body = json.dumps({"type": "threads.list", "params": {"limit": 9999, "order": "desc"}, "metadata": {}})
        REQUEST.validate_json(body)
        page = self.json_call(
            "threads.list browser shape {limit: 9999, order: desc}", body, self.alice, THREAD_PAGE, "Page[Thread]"
        )
        if isinstance(page, dict):
            ids = [t.get("id") for t in page.get("data", [])]
            c.check(
                "threads.list {limit: 9999}: capped (<= 100), contains the user's threads newest first",
                len(ids) <= 100 and ids[: len(mine)] == mine[::-1],
                ids,
            )
        # The client is evergreen: a field this SDK version does not know must not break a request.
        body = json.dumps(
            {
                "type": "threads.list",
                "params": {"limit": 2, "order": "desc", "a_future_option": True},
                "metadata": {"source": "conformance"},
            }
        )
        REQUEST.validate_json(body)
        page = self.json_call(
            "threads.list with an unknown param and metadata (ignored, not refused)",
            body,
            self.alice,
            THREAD_PAGE,
            "Page[Thread]",
        )
        if isinstance(page, dict):
            ids = [t.get("id") for t in page.get("data", [])]
            c.check(
                "threads.list {limit: 2} with an unknown param: the two newest threads, has_more",
                ids == mine[::-1][:2] and page.get("has_more") is True and page.get("after") == ids[-1],
                page,
            )
        page = self.list_threads("threads.list asc", self.alice, order="asc")
        if isinstance(page, dict):
            ids = [t.get("id") for t in page.get("data", [])]
            c.check("threads.list asc: oldest first", ids[-len(mine) :] == mine, ids)
        collected: list[str] = []
        after = None
        for n in range(200):  # a bound against a cursor that never ends
            page = self.list_threads(f"threads.list desc limit 1 page {n + 1}", self.alice, limit=1, order="desc", after=after)
            if not isinstance(page, dict):
                break
            collected += [t.get("id") for t in page.get("data", [])]
            if not page.get("has_more"):
                break
            after = page.get("after")
            if after is None:
                c.check(f"threads.list desc limit 1 page {n + 1}: has_more comes with an `after` cursor", False, page)
                break
        c.check(
            "threads.list desc limit 1, paged with after cursors = the whole list newest first",
            (collected == everything or not everything) and collected[: len(mine)] == mine[::-1],
            f"paged {collected}, whole list {everything}",
        )

    def isolation(self, t1: str, title: str, others: list[str]) -> None:
        c = self.checks
        bob = self.bob
        before = self.list_items("isolation: Alice's items before Bob tries", t1, self.alice, limit=100, order="asc")
        page = self.list_threads("isolation: Bob's threads.list", bob, limit=100)
        if isinstance(page, dict):
            ids = [t.get("id") for t in page.get("data", [])]
            c.check("isolation: Bob's threads.list shows none of Alice's threads", not set(ids) & {t1, *others}, ids)
        self.problem(
            "isolation: Bob threads.get_by_id on Alice's thread",
            body_of(ThreadsGetByIdReq(params=ThreadGetByIdParams(thread_id=t1))),
            bob,
            404,
        )
        self.problem(
            "isolation: Bob items.list on Alice's thread", body_of(ItemsListReq(params=ItemsListParams(thread_id=t1))), bob, 404
        )
        self.problem(
            "isolation: Bob threads.add_user_message on Alice's thread",
            body_of(
                ThreadsAddUserMessageReq(params=ThreadAddUserMessageParams(thread_id=t1, input=user_input("Add a task to steal")))
            ),
            bob,
            404,
        )
        self.problem(
            "isolation: Bob threads.update on Alice's thread",
            body_of(ThreadsUpdateReq(params=ThreadUpdateParams(thread_id=t1, title="mine now"))),
            bob,
            404,
        )
        self.problem(
            "isolation: Bob threads.delete on Alice's thread",
            body_of(ThreadsDeleteReq(params=ThreadDeleteParams(thread_id=t1))),
            bob,
            404,
        )
        first_user = next((it["id"] for it in self.expected if it.get("type") == "user_message"), str(uuid.uuid4()))
        self.problem(
            "isolation: Bob threads.retry_after_item on Alice's thread",
            body_of(ThreadsRetryAfterItemReq(params=ThreadRetryAfterItemParams(thread_id=t1, item_id=first_user))),
            bob,
            404,
        )
        self.problem(
            "isolation: Bob items.feedback on Alice's thread",
            body_of(ItemsFeedbackReq(params=ItemFeedbackParams(thread_id=t1, item_ids=[first_user], kind="negative"))),
            bob,
            404,
        )
        # Bob's own thread stays his.
        turn = self.stream(
            "isolation: Bob threads.create", body_of(ThreadsCreateReq(params=ThreadCreateParams(input=user_input("hello")))), bob
        )
        bobs = turn.events[0]["thread"]["id"] if turn and turn.events and turn.events[0].get("type") == "thread.created" else None
        if bobs:
            self.check_turn("isolation: Bob threads.create", turn, None, "hello", created=True)
            self.problem(
                "isolation: Alice threads.get_by_id on Bob's thread",
                body_of(ThreadsGetByIdReq(params=ThreadGetByIdParams(thread_id=bobs))),
                self.alice,
                404,
            )
            page = self.list_threads("isolation: Alice's threads.list", self.alice, limit=100)
            if isinstance(page, dict):
                c.check(
                    "isolation: Alice's threads.list does not show Bob's thread",
                    bobs not in [t.get("id") for t in page.get("data", [])],
                    [t.get("id") for t in page.get("data", [])],
                )
        after = self.list_items("isolation: Alice's items after Bob tried", t1, self.alice, limit=100, order="asc")
        thread = self.get_thread("isolation: Alice's thread after Bob tried", t1, self.alice)
        if isinstance(before, dict) and isinstance(after, dict) and isinstance(thread, dict):
            c.check(
                "isolation: Alice's thread is untouched (same items, same title)",
                before == after and thread.get("title") == title,
                first_difference(after.get("data", []), before.get("data", [])),
            )

    def confirmation(self) -> None:
        """The question of a change to several tasks as a `structured_input` item (after the reply,
        in the stream and in the thread), answered with `threads.add_structured_input`: the answer
        replaces the item, runs as the next message, and changes exactly the listed tasks, once."""
        c = self.checks
        turn = self.stream(
            "question: threads.create",
            body_of(ThreadsCreateReq(params=ThreadCreateParams(input=user_input("add Alpha conformance #confx")))),
            self.alice,
        )
        if turn is None or not turn.events or turn.events[0].get("type") != "thread.created":
            c.check("question: a thread to ask in", False, "no thread.created: question checks skipped")
            return
        thread = turn.events[0]["thread"]["id"]

        def say(name: str, text: str) -> Turn | None:
            body = body_of(ThreadsAddUserMessageReq(params=ThreadAddUserMessageParams(thread_id=thread, input=user_input(text))))
            return self.stream(name, body, self.alice)

        say("question: add a second tagged task", "add Beta conformance #confx")
        before = self.task_titles()
        turn = say("question: 'delete all tasks tagged confx'", "delete all tasks tagged confx")
        if turn is None:
            return
        done = [e["item"] for e in turn.events if e.get("type") == "thread.item.done"]
        question = done[-1] if done else {}
        c.check(
            "question: the last item is a structured_input, right after the reply",
            question.get("type") == "structured_input" and len(done) >= 2 and done[-2].get("type") == "assistant_message",
            [d.get("type") for d in done],
        )
        added = [e["item"] for e in turn.events if e.get("type") == "thread.item.added"]
        c.check("question: thread.item.added comes before its done", question in added, [a.get("type") for a in added])
        choice = (question.get("inputs") or [{}])[0]
        c.check(
            "question: pending, one multiple_choice input with Yes and No",
            question.get("status") == "pending"
            and choice.get("type") == "multiple_choice"
            and choice.get("question") == "Delete these 2 tasks?"
            and [o.get("value") for o in choice.get("options", [])] == ["Yes", "No"]
            and choice.get("multiple") is False,
            question,
        )
        c.check("question: asking changed nothing", self.task_titles() == before, self.task_titles())
        page = self.list_items("question: items.list desc limit 1", thread, self.alice, limit=1, order="desc")
        if isinstance(page, dict):
            c.check(
                "question: items.list shows the question with the reply that asked",
                [i.get("type") for i in page.get("data", [])] == ["structured_input", "assistant_message"]
                and page["data"][0] == question,
                page.get("data"),
            )
        item_id = question.get("id", "")

        def answer(value: str) -> str:
            submission = StructuredInputSubmission(
                status="answered", answers={choice.get("id", "confirm"): StructuredInputAnswerSubmission(values=[value])}
            )
            params = ThreadAddStructuredInputParams(thread_id=thread, item_id=item_id, input=submission)
            return body_of(ThreadsAddStructuredInputReq(params=params))

        self.problem("question: Bob answers Alice's question", answer("Yes"), self.bob, 404)
        c.check("question: Bob's answer changed nothing", self.task_titles() == before, self.task_titles())
        turn = self.stream("question: threads.add_structured_input Yes", answer("Yes"), self.alice)
        if turn is None:
            return
        first = turn.events[0] if turn.events else {}
        replaced = first.get("item", {})
        c.check(
            "question: thread.item.replaced first, the item answered Yes",
            first.get("type") == "thread.item.replaced"
            and replaced.get("id") == item_id
            and replaced.get("status") == "answered"
            and replaced.get("inputs", [{}])[0].get("answer") == {"values": ["Yes"], "skipped": False},
            first,
        )
        done = [e["item"] for e in turn.events if e.get("type") == "thread.item.done"]
        c.check(
            "question: the answer is the next user message, then the reply",
            [d.get("type") for d in done] == ["user_message", "assistant_message"] and text_of(done[0]) == "Yes",
            done,
        )
        reply = text_of(done[-1]) if done else ""
        c.check("question: the reply says what was deleted", reply.startswith("Deleted 2 tasks"), reply)
        after = self.task_titles()
        c.check(
            "question: exactly the two listed tasks are gone",
            sorted(t for t in before if "conformance" not in t[1]) == sorted(after),
            (before, after),
        )
        c.check(
            "question: a tasks_changed effect",
            any(e.get("name") == "tasks_changed" for _, e in self.effects(turn)),
            self.effects(turn),
        )
        self.problem("question: answering again", answer("Yes"), self.alice, 409)
        c.check("question: the second answer changed nothing", self.task_titles() == after, self.task_titles())
        page = self.list_items("question: items.list after the answer", thread, self.alice, limit=100, order="asc")
        if isinstance(page, dict):
            shown = [i for i in page.get("data", []) if i.get("id") == item_id]
            c.check(
                "question: the thread shows it answered Yes",
                len(shown) == 1
                and shown[0].get("status") == "answered"
                and shown[0]["inputs"][0].get("answer") == {"values": ["Yes"], "skipped": False},
                shown,
            )

    def errors(self, t1: str) -> None:
        self.problem("unknown type", json.dumps({"type": "threads.bogus", "params": {}}), self.alice, 400)
        self.problem(
            "unsupported type attachments.create",
            json.dumps({"type": "attachments.create", "params": {"name": "a.txt", "size": 1, "mime_type": "text/plain"}}),
            self.alice,
            400,
        )
        self.problem(
            "missing thread: threads.get_by_id",
            body_of(ThreadsGetByIdReq(params=ThreadGetByIdParams(thread_id=str(uuid.uuid4())))),
            self.alice,
            404,
        )
        self.problem(
            "not-a-UUID thread id: threads.get_by_id",
            body_of(ThreadsGetByIdReq(params=ThreadGetByIdParams(thread_id="thr_1234abcd"))),
            self.alice,
            404,
        )
        self.problem(
            "missing thread: threads.add_user_message",
            body_of(
                ThreadsAddUserMessageReq(
                    params=ThreadAddUserMessageParams(thread_id=str(uuid.uuid4()), input=user_input("hello"))
                )
            ),
            self.alice,
            404,
        )
        self.problem(
            "missing item: threads.retry_after_item",
            body_of(ThreadsRetryAfterItemReq(params=ThreadRetryAfterItemParams(thread_id=t1, item_id=str(uuid.uuid4())))),
            self.alice,
            404,
        )
        self.problem("malformed JSON body", "{not json", self.alice, 400)

    def retry(self, t1: str, title: str) -> None:
        c = self.checks
        users = [it for it in self.expected if it.get("type") == "user_message"]
        if len(users) < 2:
            c.check("retry_after_item: two user messages to retry", False, self.expected)
            return
        first, newest = users[0], users[-1]
        # An older message: retrying it would rewrite history under the newer turns.
        older = body_of(ThreadsRetryAfterItemReq(params=ThreadRetryAfterItemParams(thread_id=t1, item_id=first["id"])))
        self.problem("threads.retry_after_item (an older user message)", older, self.alice, 409)
        unchanged = self.get_thread("threads.get_by_id after the refused retry", t1, self.alice)
        if isinstance(unchanged, dict):
            # get_by_id carries the first page (20 items); the full list is compared by items.list below.
            page = unchanged.get("items", {}).get("data", [])
            c.check(
                "threads.retry_after_item of an older message changes nothing",
                page == self.expected[:20],
                first_difference(page, self.expected[:20]),
            )
        old_ids = {it.get("id") for it in self.expected}
        tasks_before = self.task_titles()
        body = body_of(ThreadsRetryAfterItemReq(params=ThreadRetryAfterItemParams(thread_id=t1, item_id=newest["id"])))
        turn = self.stream("threads.retry_after_item (the newest user message)", body, self.alice)
        if turn is None:
            return
        # The client drops the items after the retried one itself (no thread.item.removed is sent).
        at = next(i for i, it in enumerate(self.expected) if it.get("id") == newest["id"])
        del self.expected[at + 1 :]
        final = self.check_turn("threads.retry_after_item", turn, t1, None, created=False)
        user_done = [
            e["item"] for e in turn.events if e.get("type") == "thread.item.done" and e["item"].get("type") == "user_message"
        ]
        c.check(
            "threads.retry_after_item: no new user message (a re-sent one is the stored item unchanged)",
            all(it == newest for it in user_done),
            user_done,
        )
        if final is not None:
            c.check(
                "threads.retry_after_item: re-answers the newest message with a new reply item",
                bool(text_of(final)) and final.get("id") not in old_ids,
                text_of(final),
            )
        c.check(
            "threads.retry_after_item: no tool effect is repeated",
            self.task_titles() == tasks_before,
            (tasks_before, self.task_titles()),
        )
        c.check(
            "threads.retry_after_item: no thread.updated (the thread already has a title)",
            not any(e.get("type") == "thread.updated" for e in turn.events),
            [e.get("type") for e in turn.events],
        )
        thread = self.get_thread("threads.get_by_id after retry", t1, self.alice)
        if isinstance(thread, dict):
            data = thread.get("items", {}).get("data", [])
            c.check(
                "threads.get_by_id after retry: the first page as streamed (the old reply replaced)",
                data == self.expected[:20] and thread["items"].get("has_more") is (len(self.expected) > 20),
                first_difference(data, self.expected[:20]),
            )
            c.check("threads.get_by_id after retry: title kept", thread.get("title") == title, thread.get("title"))
        desc, _ = self.page_items("items.list desc after retry", t1, self.alice, "desc", None)
        c.check(
            "items.list desc after retry = the streamed items newest first",
            desc == self.expected[::-1],
            first_difference(desc, self.expected[::-1]),
        )


def first_difference(got: list[dict], want: list[dict]) -> str:
    if len(got) != len(want):
        prefix = f"{len(got)} items, expected {len(want)}; "
    else:
        prefix = ""
    for i, (a, b) in enumerate(zip(got, want, strict=False)):
        if a != b:
            return f"{prefix}first difference at index {i}:\n    got      {json.dumps(a)}\n    expected {json.dumps(b)}"
    return prefix + (
        "ids got " + str([x.get("id") for x in got]) + " expected " + str([x.get("id") for x in want]) if prefix else "equal"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--base-url",
        default=os.environ.get("CHATKIT_BASE_URL") or os.environ.get("SERVE_URL"),
        help="server root, e.g. http://127.0.0.1:8080 (env CHATKIT_BASE_URL or SERVE_URL)",
    )
    parser.add_argument("--token-a", default=os.environ.get("ALICE_TOKEN"), help="bearer token of user A (env ALICE_TOKEN)")
    parser.add_argument("--token-b", default=os.environ.get("BOB_TOKEN"), help="bearer token of user B (env BOB_TOKEN)")
    args = parser.parse_args()
    missing = [
        name
        for name, value in (("--base-url", args.base_url), ("--token-a", args.token_a), ("--token-b", args.token_b))
        if not value
    ]
    if missing:
        parser.error("missing " + ", ".join(missing))

    import chatkit.version  # noqa: PLC0415 (report the models we validate against)

    print(
        f"openai-chatkit {chatkit.version.__version__}, pydantic {__import__('pydantic').VERSION}; server {args.base_url}",
        flush=True,
    )
    checks = Checks()
    session = Session(Server(args.base_url), args.token_a, args.token_b, checks)
    try:
        session.run()
    except (OSError, http.client.HTTPException) as err:
        checks.check("the session ran to the end", False, f"{type(err).__name__}: {err}")
    print(f"chatkit conformance: {checks.passed} passed, {checks.failed} failed", flush=True)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
