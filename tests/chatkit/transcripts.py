#!/usr/bin/env python3
"""ChatKit transcripts: the scenario files the frontend's fake server is checked against
(frontend/src/test/transcripts/*.json, format in frontend/src/test/fakeBackend.contract.test.ts),
replayed against a real `smart-todo serve` (offline assistant).

For every transcript, in file order, every step's request is sent to POST $SERVE_URL/chatkit as alice
(`Authorization: Bearer $ALICE_TOKEN`), with its `idempotency_key` as the `Idempotency-Key` header.
Placeholders in requests: `<key:NAME>` is a fresh random key per NAME per run; `<id:NAME>` is the real id
an earlier answer showed at a position where the stored transcript has `<id:NAME>`, or, for a NAME no
earlier answer showed, a random UUIDv7-shaped id that names nothing. Event streams are parsed as SSE
(`data: <json>\\n\\n` frames; comments such as `: keep-alive` are skipped).

The real answers are normalised into the transcript form: ids become `<id:NAME>` (the name the stored
transcript has at the same position when that name is still free, else the next unused number, in order
of first appearance), timestamps `<ts>`, keys `<key:NAME>`; then compared with the stored step: status,
content type, the sequence of event types (a run of text deltas to one item merged into one event, its
deltas concatenated), then the whole JSON (key sets and values, exactly, after normalisation; a stored
`<id>` accepts any id). Texts of the offline assistant are deterministic, so they are compared too.

SQL (psql "$DATABASE_URL", the fresh database serve_on_fresh_db made), and what each stands for:
  * before each transcript: TRUNCATE tasks, conversations, messages, turns, users, task_events, trash, pending_actions RESTART IDENTITY --
    the transcripts' "one fresh user (no tasks, no threads)" on a fresh database, so the user's task
    numbers (which the offline replies name, "as task 1") start at 1 in every transcript;
  * a step that later steps name in `while_running`: the offline assistant answers at once, so once its
    answer is complete the conversation's newest turn (that step's turn) is marked `running` with a live
    lease -- a function still answering it, the lease renewed; when no later step needs it running any
    more (the contract test's release point), it gets back its previous status with
    `lease_until = now()` -- the function finishing the turn.

    python3 tests/chatkit/transcripts.py [--write] [--dir DIR] [NAME ...]

`--write` regenerates the files from the real server (same steps and requests, answers as recorded).
Prints `PASS name` / `FAIL name: <first difference>` per transcript and ends with
`chatkit transcripts: N passed, M failed`; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.parse
import uuid
from typing import Any

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_DIR = os.path.join(ROOT, "frontend", "src", "test", "transcripts")

PLACEHOLDER = re.compile(r"^<(id|key):(.+)>$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")
# Keys whose string values are ids whatever they look like.
ID_KEYS = {"id", "thread_id", "item_id", "after", "before"}
TEXT_DELTA = "assistant_message.content_part.text_delta"
TIMEOUT = 60.0


class Failure(Exception):
    """The first difference of a transcript (or why it could not be played)."""


# --------------------------------------------------------------------------------------------------
# Placeholders


def uuid7_like() -> str:
    """A random id shaped like the server's (UUIDv7: 48-bit ms timestamp, version 7, RFC variant)."""
    ms = int(time.time() * 1000) & ((1 << 48) - 1)
    rand = secrets.randbits(74)
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


class Bindings:
    """Placeholder <-> actual value, one to one (ids and keys)."""

    def __init__(self, reserved: set[str]) -> None:
        self.forward: dict[str, str] = {}
        self.backward: dict[str, str] = {}
        # Names a request of the file uses: a fresh name for an id first seen in an answer avoids them.
        self.reserved = reserved
        self.counter = 0

    def bind(self, placeholder: str, actual: str) -> None:
        self.forward[placeholder] = actual
        self.backward[actual] = placeholder

    def resolve(self, placeholder: str) -> str:
        """The actual value of a placeholder in a request (a fresh one if no answer showed it)."""
        known = self.forward.get(placeholder)
        if known is not None:
            return known
        kind = PLACEHOLDER.match(placeholder).group(1)  # type: ignore[union-attr]
        value = f"transcript-{secrets.token_hex(12)}" if kind == "key" else uuid7_like()
        self.bind(placeholder, value)
        return value

    def fresh_id(self) -> str:
        while True:
            self.counter += 1
            name = f"<id:{self.counter}>"
            if name not in self.forward and name not in self.reserved:
                return name


def placeholders_in(value: Any, out: set[str]) -> set[str]:
    if isinstance(value, str):
        if PLACEHOLDER.match(value):
            out.add(value)
    elif isinstance(value, list):
        for v in value:
            placeholders_in(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            placeholders_in(v, out)
    return out


def substitute(value: Any, bindings: Bindings) -> Any:
    if isinstance(value, str):
        if value in ("<id>", "<ts>"):
            raise Failure(f"a request cannot use {value}: name the placeholder")
        return bindings.resolve(value) if PLACEHOLDER.match(value) else value
    if isinstance(value, list):
        return [substitute(v, bindings) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, bindings) for k, v in value.items()}
    return value


def is_id(value: str, key: str) -> bool:
    return bool(UUID_RE.match(value)) or (key in ID_KEYS and not TS_RE.match(value))


def normalise(actual: Any, template: Any, bindings: Bindings, key: str = "") -> Any:
    """The transcript form of a real value; `template` is the stored value at the same position."""
    if isinstance(actual, str):
        known = bindings.backward.get(actual)
        if known is not None:
            return known
        if TS_RE.match(actual):
            return "<ts>"
        if is_id(actual, key):
            m = PLACEHOLDER.match(template) if isinstance(template, str) else None
            if m and m.group(1) == "id" and template not in bindings.forward:
                name = template
            else:
                name = bindings.fresh_id()
            bindings.bind(name, actual)
            return name
        return actual
    if isinstance(actual, list):
        tpl = template if isinstance(template, list) else []
        return [normalise(v, tpl[i] if i < len(tpl) else None, bindings, key) for i, v in enumerate(actual)]
    if isinstance(actual, dict):
        tpl = template if isinstance(template, dict) else {}
        return {k: normalise(v, tpl.get(k), bindings, k) for k, v in actual.items()}
    return actual


# --------------------------------------------------------------------------------------------------
# Events: merging text deltas, labels, comparison


def is_delta(event: Any) -> bool:
    return (
        isinstance(event, dict)
        and event.get("type") == "thread.item.updated"
        and isinstance(event.get("update"), dict)
        and event["update"].get("type") == TEXT_DELTA
    )


def groups(events: list[Any]) -> list[list[Any]]:
    """Events in runs: a run of text deltas to one item is one group, any other event its own."""
    out: list[list[Any]] = []
    for e in events:
        prev = out[-1][-1] if out else None
        if is_delta(e) and is_delta(prev) and prev.get("item_id") == e.get("item_id"):
            out[-1].append(e)
        else:
            out.append([e])
    return out


def merge(events: list[Any]) -> list[Any]:
    """A run of text deltas to one item as one delta event (its deltas concatenated)."""
    merged = []
    for g in groups(events):
        if len(g) > 1 or is_delta(g[0]):
            first = json.loads(json.dumps(g[0]))
            first["update"]["delta"] = "".join(str(e["update"].get("delta", "")) for e in g)
            merged.append(first)
        else:
            merged.append(g[0])
    return merged


def label(event: Any) -> str:
    if not isinstance(event, dict):
        return type(event).__name__
    update = event.get("update")
    return f"{event.get('type')}:{update.get('type')}" if isinstance(update, dict) else str(event.get("type"))


def short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def difference(expected: Any, actual: Any, path: str) -> str | None:
    """The first difference between a stored value and a normalised real one, or None."""
    if isinstance(expected, str) and expected == "<id>":
        ok = isinstance(actual, str) and bool(PLACEHOLDER.match(actual)) and actual.startswith("<id:")
        return None if ok else f"{path}: expected an id, got {short(actual)}"
    if type(expected) is not type(actual) and not (
        isinstance(expected, (int, float)) and isinstance(actual, (int, float))
        and not isinstance(expected, bool) and not isinstance(actual, bool)
    ):
        return f"{path}: expected {short(expected)}, got {short(actual)}"
    if isinstance(expected, dict):
        missing = [k for k in expected if k not in actual]
        extra = [k for k in actual if k not in expected]
        if missing or extra:
            parts = []
            if missing:
                parts.append("missing keys " + ", ".join(missing))
            if extra:
                parts.append("unexpected keys " + ", ".join(extra))
            return f"{path}: {'; '.join(parts)} (got {short(actual)})"
        for k in expected:
            d = difference(expected[k], actual[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(expected, list):
        for i in range(min(len(expected), len(actual))):
            d = difference(expected[i], actual[i], f"{path}[{i}]")
            if d:
                return d
        if len(expected) != len(actual):
            return f"{path}: expected {len(expected)} elements, got {len(actual)}"
        return None
    if expected != actual:
        return f"{path}: expected {short(expected)}, got {short(actual)}"
    return None


# --------------------------------------------------------------------------------------------------
# The real server


class Server:
    def __init__(self, base_url: str, token: str, database_url: str) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 80
        self.prefix = parsed.path.rstrip("/")
        self.token = token
        self.database_url = database_url

    def post(self, body: dict[str, Any], key: str | None) -> tuple[int, str, list[Any] | None, Any]:
        """POST /chatkit: (status, media type, events or None, body or None)."""
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Accept": "text/event-stream, application/json",
        }
        if key is not None:
            headers["Idempotency-Key"] = key
        conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        try:
            conn.request("POST", f"{self.prefix}/chatkit", body=json.dumps(body).encode(), headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            media = (resp.getheader("Content-Type") or "").split(";")[0].strip()
            status = resp.status
        finally:
            conn.close()
        if media == "text/event-stream":
            return status, media, parse_sse(raw.decode("utf-8")), None
        text = raw.decode("utf-8")
        try:
            return status, media, None, json.loads(text) if text else None
        except json.JSONDecodeError as err:
            raise Failure(f"HTTP {status} {media}: not JSON ({err}): {text[:200]!r}") from None

    def sql(self, statement: str) -> list[list[str]]:
        """Runs one statement with psql; its rows (unaligned, tab-separated)."""
        done = subprocess.run(
            ["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", self.database_url, "-c", statement],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise Failure(f"psql failed ({done.returncode}): {done.stderr.strip()} -- {statement}")
        return [line.split("\t") for line in done.stdout.splitlines() if line]


def parse_sse(text: str) -> list[Any]:
    """The JSON of every `data:` frame; comments are skipped. Frames must be `data: <json>\\n\\n`."""
    events = []
    if text and not text.endswith("\n\n"):
        raise Failure(f"event stream does not end with a blank line: {text[-80:]!r}")
    for block in text.split("\n\n"):
        if not block:
            continue
        data = []
        for line in block.split("\n"):
            if line.startswith(":"):
                continue
            if not line.startswith("data: "):
                raise Failure(f"unexpected SSE line {line[:120]!r}")
            data.append(line[len("data: "):])
        if data:
            events.append(json.loads("\n".join(data)))
    return events


def uuid_literal(value: str) -> str:
    return "'" + str(uuid.UUID(value)) + "'::uuid"


# --------------------------------------------------------------------------------------------------
# Playing a transcript


class Answer:
    def __init__(self, status: int, media: str, events: list[Any] | None, body: Any) -> None:
        self.status, self.media, self.events, self.body = status, media, events, body


def thread_of(index: int, request_params: dict[str, Any], answer: Answer) -> str:
    """The conversation a turn step ran in: the thread it created, else the one its request named."""
    for e in answer.events or []:
        if isinstance(e, dict) and e.get("type") == "thread.created":
            return e["thread"]["id"]
    thread_id = request_params.get("thread_id")
    if not isinstance(thread_id, str):
        raise Failure(f"step {index}: no thread to hold running")
    return thread_id


def play(server: Server, steps: list[dict[str, Any]]) -> tuple[list[Answer], list[dict[str, Any]]]:
    """Sends the steps; returns the answers and their transcript form (with the stored requests)."""
    reserved: set[str] = set()
    for s in steps:
        placeholders_in(s["request"], reserved)
    bindings = Bindings(reserved)
    held_steps = {s["while_running"] for s in steps if "while_running" in s}
    # Step index -> (turn id, status it had) while it is held running.
    holds: dict[int, tuple[str, str]] = {}
    answers: list[Answer] = []
    recorded: list[dict[str, Any]] = []

    def release(start: int) -> None:
        for j in list(holds):
            if any(s.get("while_running") == j for s in steps[start:]):
                continue
            turn_id, status = holds.pop(j)
            # The function answering the turn finished: it gets back the status it ended with.
            server.sql(
                f"UPDATE turns SET status = '{status}', lease_until = now() WHERE id = {uuid_literal(turn_id)}"
            )

    server.sql("TRUNCATE tasks, conversations, messages, turns, users, task_events, trash, pending_actions RESTART IDENTITY")
    try:
        for i, step in enumerate(steps):
            release(i)
            j = step.get("while_running")
            if j is not None and j not in holds:
                raise Failure(f"step {i}: while_running {j} names no held earlier step")
            request = step["request"]
            params = substitute(request.get("params", {}), bindings)
            key = substitute(request["idempotency_key"], bindings) if "idempotency_key" in request else None
            status, media, events, body = server.post({"type": request["type"], "params": params}, key)
            answer = Answer(status, media, events, body)
            answers.append(answer)

            # Normalise against the stored step (learning the ids later requests name).
            out: dict[str, Any] = {"request": request}
            if j is not None:
                out["while_running"] = j
            out["status"] = status
            out["content_type"] = media
            if events is not None:
                stored = step.get("events") or []
                want = groups(stored)
                normalised = []
                for gi, g in enumerate(groups(events)):
                    template = want[gi][0] if gi < len(want) else None
                    normalised.extend(normalise(e, template, bindings) for e in g)
                out["events"] = normalised
            else:
                out["body"] = normalise(body, step.get("body"), bindings)
            recorded.append(out)

            if i in held_steps:
                # The turn is still being answered: a live lease, renewed by the function running it.
                thread = thread_of(i, params, answer)
                rows = server.sql(
                    "WITH t AS (SELECT id, status FROM turns WHERE conversation_id = "
                    f"{uuid_literal(thread)} ORDER BY started_at DESC LIMIT 1 FOR UPDATE), "
                    "u AS (UPDATE turns SET status = 'running', lease_until = now() + interval '1 minute' "
                    "FROM t WHERE turns.id = t.id RETURNING turns.id) "
                    "SELECT t.id, t.status FROM t JOIN u ON u.id = t.id"
                )
                if len(rows) != 1:
                    raise Failure(f"step {i}: conversation {thread} has no turn to hold running")
                holds[i] = (rows[0][0], rows[0][1])
        release(len(steps))
    finally:
        for turn_id, status in holds.values():
            try:
                server.sql(
                    f"UPDATE turns SET status = '{status}', lease_until = now() WHERE id = {uuid_literal(turn_id)}"
                )
            except Failure:
                pass
    return answers, recorded


def compare(stored: list[dict[str, Any]], recorded: list[dict[str, Any]]) -> str | None:
    """The first difference between the stored steps and the recorded (normalised) ones."""
    for i, (want, got) in enumerate(zip(stored, recorded)):
        at = f"step {i} ({want['request']['type']})"
        if want.get("status") != got["status"]:
            answer = short(got.get("body", got.get("events")))
            return f"{at}: status {got['status']}, expected {want.get('status')} (answer {answer})"
        if want.get("content_type") != got["content_type"]:
            return f"{at}: content type {got['content_type']}, expected {want.get('content_type')}"
        if ("events" in want) != ("events" in got):
            kinds = ["events" if "events" in x else "a body" for x in (want, got)]
            return f"{at}: expected {kinds[0]}, got {kinds[1]}"
        if "events" in got:
            w, g = merge(want["events"]), merge(got["events"])
            wl, gl = [label(e) for e in w], [label(e) for e in g]
            if wl != gl:
                k = next((n for n in range(min(len(wl), len(gl))) if wl[n] != gl[n]), min(len(wl), len(gl)))
                return (
                    f"{at}: event types differ at event {k}: expected "
                    f"{wl[k] if k < len(wl) else '(end)'}, got {gl[k] if k < len(gl) else '(end)'} "
                    f"(expected {len(wl)} events, got {len(gl)})"
                )
            for n, (we, ge) in enumerate(zip(w, g)):
                d = difference(we, ge, f"event {n} ({label(we)})")
                if d:
                    return f"{at}: {d}"
        else:
            d = difference(want.get("body"), got["body"], "body")
            if d:
                return f"{at}: {d}"
    if len(stored) != len(recorded):
        return f"expected {len(stored)} steps, played {len(recorded)}"
    return None


# --------------------------------------------------------------------------------------------------
# Writing


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def render(steps: list[dict[str, Any]]) -> str:
    """Pretty JSON in the files' layout: one step field per line, one event per line."""
    blocks = []
    for step in steps:
        lines = []
        for k, v in step.items():
            if k == "events":
                inner = ",\n".join(f"      {dumps(e)}" for e in v)
                lines.append(f'    "events": [\n{inner}\n    ]' if v else '    "events": []')
            else:
                lines.append(f"    {dumps(k)}: {dumps(v)}")
        blocks.append("  {\n" + ",\n".join(lines) + "\n  }")
    return "[\n" + ",\n".join(blocks) + "\n]\n"


# --------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="regenerate the transcript files from the real server")
    parser.add_argument("--dir", default=DEFAULT_DIR, help="the transcripts directory")
    parser.add_argument("--base-url", default=os.environ.get("SERVE_URL", ""))
    parser.add_argument("--token", default=os.environ.get("ALICE_TOKEN", ""))
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("names", nargs="*", help="transcripts to play (default: every file)")
    args = parser.parse_args()
    for what, value in (("SERVE_URL", args.base_url), ("ALICE_TOKEN", args.token), ("DATABASE_URL", args.database_url)):
        if not value:
            print(f"{what} is not set (run under scripts/lib/serve.sh's serve_on_fresh_db)", file=sys.stderr)
            return 2
    server = Server(args.base_url, args.token, args.database_url)

    files = sorted(f for f in os.listdir(args.dir) if f.endswith(".json"))
    names = [f[: -len(".json")] for f in files]
    if args.names:
        unknown = [n for n in args.names if n not in names]
        if unknown:
            print(f"no such transcript: {', '.join(unknown)}", file=sys.stderr)
            return 2
        names = args.names
    passed = failed = 0
    for name in names:
        path = os.path.join(args.dir, f"{name}.json")
        try:
            with open(path, encoding="utf-8") as f:
                stored = json.load(f)
            _, recorded = play(server, stored)
            if args.write:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(render(recorded))
                print(f"wrote {os.path.relpath(path, ROOT)}", file=sys.stderr, flush=True)
                with open(path, encoding="utf-8") as f:
                    stored = json.load(f)
            problem = compare(stored, recorded)
        except Failure as err:
            problem = str(err)
        except (OSError, ValueError, KeyError, TypeError, http.client.HTTPException) as err:
            problem = f"{type(err).__name__}: {err}"
        if problem:
            failed += 1
            print(f"FAIL {name}: {problem}", flush=True)
        else:
            passed += 1
            print(f"PASS {name}", flush=True)
    print(f"chatkit transcripts: {passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
