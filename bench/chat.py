#!/usr/bin/env python3
"""Chat turn overhead: POST /api/chat with the offline assistant, which answers instantly, so the
time measured is ours (auth, storage, history, the tool loop), not a model's. Loopback only."""
import argparse
import http.client
import json
import statistics
import time
import urllib.parse


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--turns", type=int, default=300)
    args = parser.parse_args()
    url = urllib.parse.urlparse(args.base_url)
    if url.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("chat.py only talks to loopback")
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {"authorization": f"Bearer {args.token}", "content-type": "application/json"}

    def turn(body):
        started = time.perf_counter()
        conn.request("POST", "/api/chat", json.dumps(body), headers)
        response = conn.getresponse()
        payload = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise SystemExit(f"chat turn failed: {response.status} {payload[:200]!r}")
        return elapsed, json.loads(payload)

    _, first = turn({"message": "hello"})
    conversation = first["conversation_id"]
    kinds = {
        "new conversation, no tool": lambda i: {"message": "hello"},
        "existing conversation, no tool": lambda i: {"conversation_id": conversation, "message": f"hello {i}"},
        "existing conversation, add_task": lambda i: {"conversation_id": conversation, "message": f"Add a task to bench {i}"},
    }
    # Asserted by a_turn_takes_three_round_trips_and_one_more_per_tool.
    statements = {"new conversation, no tool": 3, "existing conversation, no tool": 3, "existing conversation, add_task": 4}
    print("| turn (offline assistant, concurrency 1) | database round trips | p50 ms | p99 ms | mean ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, body in kinds.items():
        for i in range(20):  # warm-up
            turn(body(i))
        times = [turn(body(i))[0] for i in range(args.turns)]
        print(f"| {name} | {statements[name]} | {percentile(times, 50):.2f} | {percentile(times, 99):.2f} "
              f"| {statistics.mean(times):.2f} |")


if __name__ == "__main__":
    main()
