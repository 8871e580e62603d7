#!/usr/bin/env python3
"""HTTP CRUD benchmark for `smart-todo serve` (standard library only).

Each cycle is: create (POST /api/tasks) -> get (GET /api/tasks/{id}) -> patch (PATCH title) ->
complete (POST /api/tasks/{id}/complete) -> list (GET /api/tasks?status=pending&limit=20) ->
delete (DELETE /api/tasks/{id}). Every thread keeps one keep-alive http.client connection.

For each concurrency level: a warm-up (not recorded), then a fixed number of cycles (shared by the
threads), bounded in time as well. Prints per-operation p50/p99 latency (ms) and requests/s as
markdown; --json-out writes the same numbers for bench/report.py. Traffic goes only to the
--base-url given, which must be a loopback address.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import socket
import sys
import threading
import time
import urllib.parse

OPS = ["create", "get", "patch", "complete", "list", "delete"]
OP_LABELS = {
    "create": "POST /api/tasks",
    "get": "GET /api/tasks/{id}",
    "patch": "PATCH /api/tasks/{id}",
    "complete": "POST /api/tasks/{id}/complete",
    "list": "GET /api/tasks?status=pending&limit=20",
    "delete": "DELETE /api/tasks/{id}",
}


class BenchError(Exception):
    pass


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, int(-(-pct * len(sorted_values) // 100)))  # ceil(pct/100 * n)
    return sorted_values[min(rank, len(sorted_values)) - 1]


class Client:
    """One keep-alive HTTP/1.1 connection; records latencies per operation."""

    def __init__(self, host: str, port: int, token: str, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
        }
        self.conn: http.client.HTTPConnection | None = None
        self.requests = 0
        self.reconnects = 0

    def _connect(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.conn.connect()
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def call(self, method: str, path: str, body: dict | None, expect: int) -> tuple[float, bytes]:
        """Send one request; return (latency seconds, response body). Raises BenchError on a wrong status."""
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            conn = self._connect()
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                # The server closed an idle keep-alive connection: reconnect once, not timed.
                self.close()
                self.reconnects += 1
                if attempt == 2:
                    raise BenchError(f"{method} {path}: {exc!r}") from exc
                continue
            elapsed = time.perf_counter() - t0
            self.requests += 1
            if resp.status != expect:
                raise BenchError(
                    f"{method} {path}: expected {expect}, got {resp.status}: {payload[:300]!r}"
                )
            if resp.getheader("Connection", "").lower() == "close":
                self.close()
            return elapsed, payload
        raise AssertionError("unreachable")

    def cycle(self, n: int, record: dict[str, list[float]] | None) -> None:
        lat: dict[str, float] = {}
        t, body = self.call(
            "POST", "/api/tasks", {"title": f"bench task {n}", "description": "bench"}, 201
        )
        lat["create"] = t
        try:
            task_id = json.loads(body)["id"]
        except (ValueError, KeyError, TypeError) as exc:
            raise BenchError(f"POST /api/tasks: no integer id in {body[:300]!r}") from exc
        path = f"/api/tasks/{task_id}"
        lat["get"], _ = self.call("GET", path, None, 200)
        lat["patch"], _ = self.call("PATCH", path, {"title": f"bench task {n} (renamed)"}, 200)
        lat["complete"], _ = self.call("POST", f"{path}/complete", None, 200)
        lat["list"], _ = self.call("GET", "/api/tasks?status=pending&limit=20", None, 200)
        lat["delete"], _ = self.call("DELETE", path, None, 204)
        if record is not None:
            for op, v in lat.items():
                record[op].append(v)


def run_level(args, host: str, port: int, concurrency: int, cycles: int, record: bool) -> dict:
    """Run `cycles` cycles over `concurrency` threads; return stats (or totals only when not recording)."""
    counter_lock = threading.Lock()
    next_cycle = [0]
    stop_at = time.monotonic() + args.max_seconds
    errors: list[str] = []
    results: list[dict[str, list[float]]] = []
    clients: list[Client] = []

    def take() -> int | None:
        with counter_lock:
            if next_cycle[0] >= cycles or errors or time.monotonic() > stop_at:
                return None
            next_cycle[0] += 1
            return next_cycle[0]

    def worker() -> None:
        client = Client(host, port, args.token, args.timeout)
        clients.append(client)
        rec: dict[str, list[float]] = {op: [] for op in OPS}
        results.append(rec)
        try:
            while (n := take()) is not None:
                client.cycle(n, rec if record else None)
        except BenchError as exc:
            with counter_lock:
                errors.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - report anything a thread hits
            with counter_lock:
                errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    requests = sum(c.requests for c in clients)
    out = {
        "concurrency": concurrency,
        "cycles_requested": cycles,
        "cycles_done": sum(len(r["delete"]) for r in results) if record else None,
        "requests": requests,
        "seconds": wall,
        "requests_per_second": requests / wall if wall > 0 else float("nan"),
        "reconnects": sum(c.reconnects for c in clients),
        "errors": errors,
        "timed_out": time.monotonic() > stop_at and next_cycle[0] < cycles,
    }
    if record:
        ops = {}
        all_lat: list[float] = []
        for op in OPS:
            vals = sorted(v for r in results for v in r[op])
            all_lat.extend(vals)
            ops[op] = {
                "n": len(vals),
                "p50_ms": percentile(vals, 50) * 1e3,
                "p99_ms": percentile(vals, 99) * 1e3,
                "mean_ms": (sum(vals) / len(vals) * 1e3) if vals else float("nan"),
                "max_ms": (vals[-1] * 1e3) if vals else float("nan"),
            }
        all_lat.sort()
        ops["all"] = {
            "n": len(all_lat),
            "p50_ms": percentile(all_lat, 50) * 1e3,
            "p99_ms": percentile(all_lat, 99) * 1e3,
            "mean_ms": (sum(all_lat) / len(all_lat) * 1e3) if all_lat else float("nan"),
            "max_ms": (all_lat[-1] * 1e3) if all_lat else float("nan"),
        }
        out["ops"] = ops
    return out


def markdown_level(level: dict) -> str:
    lines = [
        f"#### HTTP, concurrency {level['concurrency']}: {level['cycles_done']} cycles, "
        f"{level['requests']} requests in {level['seconds']:.2f} s "
        f"= **{level['requests_per_second']:.0f} requests/s**"
        + (" (stopped by --max-seconds)" if level["timed_out"] else ""),
        "",
        "| operation | n | p50 ms | p99 ms | mean ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for op in OPS + ["all"]:
        s = level["ops"][op]
        label = OP_LABELS.get(op, "all requests")
        lines.append(
            f"| {label} | {s['n']} | {s['p50_ms']:.3f} | {s['p99_ms']:.3f} | {s['mean_ms']:.3f} | {s['max_ms']:.3f} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8080 (loopback only)")
    p.add_argument("--token", required=True, help="bearer token (smart-todo token --user bench)")
    p.add_argument("--cycles", type=int, default=1000, help="measured cycles per concurrency level (default 1000)")
    p.add_argument("--concurrency", default="1,8", help="comma-separated levels (default 1,8)")
    p.add_argument("--warmup", type=int, default=100, help="unrecorded cycles before each level (default 100)")
    p.add_argument(
        "--min-total-requests",
        type=int,
        default=10_000,
        help="after the levels, run unrecorded cycles until this many requests were sent in all (default 10000)",
    )
    p.add_argument("--max-seconds", type=float, default=300, help="time bound per level and phase (default 300)")
    p.add_argument("--timeout", type=float, default=30, help="socket timeout per request, seconds")
    p.add_argument("--json-out", help="write the results as JSON here")
    args = p.parse_args(argv)
    try:
        args.levels = [int(x) for x in args.concurrency.split(",") if x.strip()]
    except ValueError:
        p.error("--concurrency must be a comma-separated list of integers")
    if not args.levels or min(args.levels) < 1 or args.cycles < 1 or args.warmup < 0:
        p.error("levels and cycles must be >= 1, warm-up >= 0")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    url = urllib.parse.urlsplit(args.base_url)
    if url.scheme != "http" or not url.hostname:
        print("crud.py: --base-url must be http://HOST:PORT", file=sys.stderr)
        return 2
    host, port = url.hostname, url.port or 80
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        print(f"crud.py: refusing to send load to {host}: loopback addresses only", file=sys.stderr)
        return 2

    report: dict = {"base_url": args.base_url, "levels": {}, "total_requests": 0}
    failed = False
    for c in args.levels:
        if args.warmup:
            w = run_level(args, host, port, c, args.warmup, record=False)
            report["total_requests"] += w["requests"]
            if w["errors"]:
                print(f"warm-up at concurrency {c} failed: {w['errors'][0]}", file=sys.stderr)
                failed = True
                break
        lvl = run_level(args, host, port, c, args.cycles, record=True)
        report["total_requests"] += lvl["requests"]
        report["levels"][str(c)] = lvl
        print(markdown_level(lvl))
        print()
        if lvl["errors"]:
            print(f"errors at concurrency {c} ({len(lvl['errors'])}): {lvl['errors'][0]}", file=sys.stderr)
            failed = True
            break

    # Top up to --min-total-requests (for the memory measurement after a known amount of traffic).
    if not failed and report["total_requests"] < args.min_total_requests:
        per_cycle = len(OPS)
        missing = args.min_total_requests - report["total_requests"]
        extra = run_level(args, host, port, max(args.levels), -(-missing // per_cycle), record=False)
        report["total_requests"] += extra["requests"]
        report["top_up_requests"] = extra["requests"]
        if extra["errors"]:
            print(f"top-up failed: {extra['errors'][0]}", file=sys.stderr)
            failed = True
    print(f"Requests sent in all (warm-up and top-up included): {report['total_requests']}")
    report["failed"] = failed
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(report, f, indent=2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
