#!/usr/bin/env python3
"""Latency of the task views, searches, filters and sorts for one user with many tasks.

Each scenario is one GET against a running `smart-todo serve` on one kept-open connection: a few
unrecorded requests, then --requests recorded ones; it prints a markdown table of p50 / p95 / max in
milliseconds, the page size and the match count the server reported. Used by bench/views.
"""

import argparse
import http.client
import json
import statistics
import sys
import time
import urllib.parse


def scenarios(lists):
    """(name, path) pairs: every view, the search shapes, each filter and each sort."""
    first_list = urllib.parse.quote(lists[0]) if lists else "Inbox"
    return [
        ("view=today (pending, due order)", "/api/tasks?view=today"),
        ("view=overdue", "/api/tasks?view=overdue"),
        ("view=upcoming", "/api/tasks?view=upcoming"),
        ("view=no_date", "/api/tasks?view=no_date"),
        ("all tasks (number order)", "/api/tasks"),
        ("status=pending&sort=priority", "/api/tasks?status=pending&sort=priority"),
        ("sort=due (all)", "/api/tasks?sort=due"),
        ("sort=updated", "/api/tasks?sort=updated"),
        ("sort=title", "/api/tasks?sort=title"),
        ("q=invoice (one word, ranked)", "/api/tasks?q=invoice"),
        ("q=dent app (two word starts)", "/api/tasks?q=dent%20app"),
        ("q=creme (accent-blind)", "/api/tasks?q=creme"),
        ("q=invoice&view=today", "/api/tasks?q=invoice&view=today"),
        ("list=<a list>", f"/api/tasks?list={first_list}"),
        ("list=Inbox&status=pending", "/api/tasks?list=Inbox&status=pending"),
        ("tag=errands", "/api/tasks?tag=errands"),
        ("priority=high&status=pending", "/api/tasks?priority=high&status=pending"),
        ("due_after&due_before (a month)", "/api/tasks?due_after=2026-11-30&due_before=2027-01-01&sort=due"),
        ("GET /api/counts (sidebar)", "/api/counts"),
        ("GET /api/lists (sidebar)", "/api/lists"),
    ]


def get(conn, token, path):
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        sys.exit(f"GET {path}: {response.status} {body[:300]!r}")
    return json.loads(body)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json-out")
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    lists = [entry["name"] for entry in get(conn, args.token, "/api/lists")["lists"][1:]]
    results = []
    print("| request | p50 ms | p95 ms | max ms | tasks on the page |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, path in scenarios(lists):
        for _ in range(args.warmup):
            get(conn, args.token, path)
        took = []
        shown = 0
        for _ in range(args.requests):
            start = time.perf_counter()
            body = get(conn, args.token, path)
            took.append((time.perf_counter() - start) * 1000)
            shown = len(body.get("tasks", body.get("lists", [])))
        took.sort()
        p50 = statistics.median(took)
        p95 = took[int(len(took) * 0.95) - 1]
        results.append({"name": name, "path": path, "p50_ms": p50, "p95_ms": p95, "max_ms": took[-1]})
        print(f"| `{name}` | {p50:.2f} | {p95:.2f} | {took[-1]:.2f} | {shown} |")
        sys.stdout.flush()
    # A page deep in a listing: the cursor after 40 pages of the overdue view.
    path = "/api/tasks?view=all&sort=due&limit=50"
    body = get(conn, args.token, path)
    for _ in range(40):
        if not body["next_cursor"]:
            break
        cursor = body["next_cursor"]
        body = get(conn, args.token, f"{path}&cursor={cursor}")
    deep = f"{path}&cursor={cursor}"
    took = []
    for _ in range(args.requests):
        start = time.perf_counter()
        get(conn, args.token, deep)
        took.append((time.perf_counter() - start) * 1000)
    took.sort()
    p50 = statistics.median(took)
    p95 = took[int(len(took) * 0.95) - 1]
    results.append({"name": "page 41 of sort=due", "path": deep, "p50_ms": p50, "p95_ms": p95, "max_ms": took[-1]})
    print(f"| `page 41 of sort=due (keyset cursor)` | {p50:.2f} | {p95:.2f} | {took[-1]:.2f} | 50 |")
    worst = max(results, key=lambda r: r["p50_ms"])
    print()
    print(f"Slowest p50: **{worst['p50_ms']:.2f} ms** (`{worst['name']}`); target ≤ 20 ms.")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=2)


if __name__ == "__main__":
    main()
