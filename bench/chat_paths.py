#!/usr/bin/env python3
"""Chat-path benchmarks for bench/perf (standard library only; loopback only).

  chat_paths.py turns --base-url URL --token T [--turns N]
      The same kind of turn (existing conversation, offline assistant, no tool) through
      `POST /api/chat` and through ChatKit `threads.add_user_message` (an SSE stream), each on one
      kept-open connection, interleaved turn by turn. Prints p50/p99 of both and their ratio.

  chat_paths.py history --base-url URL --token T --fake-log FILE
      Against a server whose model is fake_openai.py: ten "show my tasks" turns (each one
      list_tasks call on the user's list) in one conversation, then "thanks"; prints the size of
      the request the model received for that last turn, and of the largest before it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
import urllib.parse


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Client:
    def __init__(self, base_url: str, token: str):
        url = urllib.parse.urlparse(base_url)
        if url.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("chat_paths.py only talks to loopback")
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        self.headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}

    def post(self, path: str, body: dict) -> tuple[float, int, bytes]:
        started = time.perf_counter()
        self.conn.request("POST", path, json.dumps(body), self.headers)
        response = self.conn.getresponse()
        payload = response.read()  # an SSE stream ends when the server ends the body
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise SystemExit(f"POST {path} failed: {response.status} {payload[:300]!r}")
        return elapsed, response.status, payload


def chat_input(text: str) -> dict:
    return {"content": [{"type": "input_text", "text": text}], "quoted_text": "", "attachments": [],
            "inference_options": {}}


def cmd_turns(args) -> int:
    api = Client(args.base_url, args.token)
    kit = Client(args.base_url, args.token)
    _, _, first = api.post("/api/chat", {"message": "hello"})
    conversation = json.loads(first)["conversation_id"]
    _, _, created = kit.post("/chatkit", {"type": "threads.create", "params": {"input": chat_input("hello")}})
    thread = None
    for line in created.decode().splitlines():
        if line.startswith("data: "):
            frame = json.loads(line[6:])
            if frame.get("type") == "thread.created":
                thread = frame["thread"]["id"]
                break
    if not thread:
        raise SystemExit("threads.create streamed no thread.created")

    def api_turn(i):
        return api.post("/api/chat", {"conversation_id": conversation, "message": f"hello {i}"})[0]

    def kit_turn(i):
        elapsed, _, body = kit.post("/chatkit", {"type": "threads.add_user_message",
                                                 "params": {"thread_id": thread, "input": chat_input(f"hello {i}")}})
        if b'"type": "error"' in body or b'"type":"error"' in body:
            raise SystemExit(f"a ChatKit turn streamed an error: {body[-300:]!r}")
        return elapsed

    for i in range(20):
        api_turn(i)
        kit_turn(i)
    api_times, kit_times = [], []
    for i in range(args.turns):
        api_times.append(api_turn(i))
        kit_times.append(kit_turn(i))
    a50, k50 = statistics.median(api_times), statistics.median(kit_times)
    print("| turn, existing conversation, offline assistant, one kept-open connection each | p50 ms | p99 ms |")
    print("| --- | ---: | ---: |")
    print(f"| `POST /api/chat` (JSON) | {a50:.2f} | {percentile(api_times, 99):.2f} |")
    print(f"| ChatKit `threads.add_user_message` (SSE stream) | {k50:.2f} | {percentile(kit_times, 99):.2f} |")
    print()
    print(f"- ChatKit / JSON p50: **{k50 / a50:.2f}×** ({args.turns} turns each, interleaved)")
    return 0


def cmd_history(args) -> int:
    api = Client(args.base_url, args.token)
    conversation = None
    for i in range(10):
        body = {"message": "show my tasks"}
        if conversation:
            body["conversation_id"] = conversation
        _, _, reply = api.post("/api/chat", body)
        reply = json.loads(reply)
        conversation = reply["conversation_id"]
        if not reply["tool_calls"] or reply["tool_calls"][0]["name"] != "list_tasks":
            raise SystemExit(f"turn {i}: the fake model did not list the tasks: {reply}")
    with open(args.fake_log) as f:
        before = [json.loads(line) for line in f]
    api.post("/api/chat", {"conversation_id": conversation, "message": "thanks"})
    with open(args.fake_log) as f:
        after = [json.loads(line) for line in f]
    last = after[len(before):]
    if not last:
        raise SystemExit("the fake model saw no request for the last turn")
    listed = max(len(json.loads(r["body"]).get("messages", [])) for r in before)
    print(f"- the first request (system prompt, the tool catalog, one question): {before[0]['bytes']:,} bytes")
    print(f"- ten `show my tasks` turns, each listing {args.tasks} tasks, then `thanks`: the model's request for "
          f"`thanks` is **{last[0]['bytes']:,} bytes** (estimated tokens ≈ {last[0]['bytes'] // 4:,}); "
          f"the largest request before it: {max(r['bytes'] for r in before):,} bytes; "
          f"at most {listed} messages in one request")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    turns = sub.add_parser("turns")
    turns.add_argument("--base-url", required=True)
    turns.add_argument("--token", required=True)
    turns.add_argument("--turns", type=int, default=300)
    history = sub.add_parser("history")
    history.add_argument("--base-url", required=True)
    history.add_argument("--token", required=True)
    history.add_argument("--fake-log", required=True)
    history.add_argument("--tasks", type=int, default=100)
    args = parser.parse_args()
    return cmd_turns(args) if args.cmd == "turns" else cmd_history(args)


if __name__ == "__main__":
    sys.exit(main())
