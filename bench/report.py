#!/usr/bin/env python3
"""Summaries for bench/run (standard library only).

  report.py sql --dir DIR [--json-out FILE]
      Parse the pgbench runs in DIR: for each NAME.cC.out (pgbench's output) the per-transaction log
      files NAME.cC.log.* (--log --log-prefix=DIR/NAME.cC.log) give p50/p99; a run made with -r gives
      per-statement averages. Prints markdown tables.

  report.py compare --http CRUD.json --sql SQL.json
      HTTP latency (bench/crud.py --json-out) beside the SQL floor, with the ratio of the p50s.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import re
import sys

# HTTP operation -> pgbench script measuring the same statement.
PAIRS = [
    ("create", "POST /api/tasks", "insert", "INSERT … RETURNING"),
    ("get", "GET /api/tasks/{id}", "select", "SELECT … WHERE id AND user_id"),
    ("patch", "PATCH /api/tasks/{id}", "update", "UPDATE … SET title"),
    ("list", "GET /api/tasks?status=pending&limit=20", "list", "SELECT … pending LIMIT 21"),
]
CYCLE_LABELS = [
    "create: INSERT … RETURNING",
    "get: SELECT … WHERE id AND user_id",
    "patch: UPDATE title",
    "complete: UPDATE completed",
    "list: SELECT pending LIMIT 21",
    "delete: DELETE … RETURNING",
]


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def parse_out(text: str) -> dict:
    def num(pattern: str) -> float | None:
        m = re.search(pattern, text, re.MULTILINE)
        return float(m.group(1)) if m else None

    out = {
        "tps": num(r"^tps = ([\d.]+)"),
        "latency_avg_ms": num(r"^latency average = ([\d.]+) ms"),
        "transactions": num(r"^number of transactions actually processed: (\d+)"),
        "failed": num(r"^number of failed transactions: (\d+)"),
        "clients": num(r"^number of clients: (\d+)"),
        "statements": [],
    }
    m = re.search(r"^statement latencies in milliseconds.*:\n((?:[ \t]+.*\n?)*)", text, re.MULTILINE)
    if m:
        for line in m.group(1).splitlines():
            sm = re.match(r"^\s+([\d.]+)\s+(?:(\d+)\s+)?(.*)$", line)
            if sm and not sm.group(3).lstrip().startswith("\\set"):
                out["statements"].append({"avg_ms": float(sm.group(1)), "sql": sm.group(3).strip()})
    return out


def read_log_latencies(prefix: str) -> list[float]:
    """Transaction latencies (ms) from pgbench --log files PREFIX.<pid>[.<thread>]."""
    values: list[float] = []
    for path in glob.glob(glob.escape(prefix) + ".*"):
        if not re.search(r"\.\d+(\.\d+)?$", path):
            continue
        with open(path) as f:
            for line in f:
                parts = line.split()
                # client_id transaction_no time_us script_no time_epoch time_us_part [...]
                if len(parts) >= 3 and parts[2].isdigit():
                    values.append(int(parts[2]) / 1000.0)
    values.sort()
    return values


def cmd_sql(args) -> int:
    runs: dict[str, dict[str, dict]] = {}
    for out_path in sorted(glob.glob(os.path.join(args.dir, "*.c*.out"))):
        base = os.path.basename(out_path)[: -len(".out")]
        m = re.fullmatch(r"(.+)\.c(\d+)", base)
        if not m:
            continue
        name, clients = m.group(1), m.group(2)
        with open(out_path) as f:
            info = parse_out(f.read())
        lat = read_log_latencies(os.path.join(args.dir, base + ".log"))
        if lat:
            info["n_logged"] = len(lat)
            info["p50_ms"] = percentile(lat, 50)
            info["p99_ms"] = percentile(lat, 99)
        runs.setdefault(name, {})[clients] = info

    if not runs:
        print(f"report.py: no pgbench output in {args.dir}", file=sys.stderr)
        return 1

    lines = [
        "| script | clients | transactions | tps | p50 ms | p99 ms | avg ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in sorted(n for n in runs if n != "cycle"):
        for clients in sorted(runs[name], key=int):
            r = runs[name][clients]
            lines.append(
                f"| {name}.sql | {clients} | {fmt_int(r.get('transactions'))} | {fmt(r.get('tps'), 0)} "
                f"| {fmt(r.get('p50_ms'))} | {fmt(r.get('p99_ms'))} | {fmt(r.get('latency_avg_ms'))} |"
            )
    print("\n".join(lines))

    cycle = runs.get("cycle")
    if cycle:
        levels = sorted(cycle, key=int)
        print()
        print(
            "cycle.sql (the six statements of one HTTP cycle), average ms per statement (pgbench -r); "
            + ", ".join(f"c={c}: {fmt(cycle[c].get('tps'), 0)} cycles/s" for c in levels)
        )
        print()
        print("| statement | " + " | ".join(f"avg ms, c={c}" for c in levels) + " |")
        print("| --- | " + " | ".join("---:" for _ in levels) + " |")
        count = max(len(cycle[c]["statements"]) for c in levels)
        for i in range(count):
            label = CYCLE_LABELS[i] if count == len(CYCLE_LABELS) else cycle[levels[0]]["statements"][i]["sql"][:60]
            cells = []
            for c in levels:
                st = cycle[c]["statements"]
                cells.append(fmt(st[i]["avg_ms"]) if i < len(st) else "–")
            print(f"| {label} | " + " | ".join(cells) + " |")

    failed = any((r.get("failed") or 0) > 0 or not r.get("transactions") for v in runs.values() for r in v.values())
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(runs, f, indent=2)
    if failed:
        print("\nWARNING: a pgbench run had failed or no transactions (see its .out file)", file=sys.stderr)
        return 1
    return 0


def cmd_compare(args) -> int:
    with open(args.http) as f:
        http = json.load(f)
    with open(args.sql) as f:
        sql = json.load(f)
    levels = sorted(set(http["levels"]) & {c for v in sql.values() for c in v}, key=int)
    if not levels:
        print("report.py: no concurrency level in common between HTTP and SQL runs", file=sys.stderr)
        return 1
    header = "| operation | SQL floor |"
    rule = "| --- | --- |"
    for c in levels:
        header += f" HTTP p50 c={c} | SQL p50 c={c} | ratio c={c} |"
        rule += " ---: | ---: | ---: |"
    print(header)
    print(rule)
    for op, op_label, script, script_label in PAIRS:
        row = f"| {op_label} | {script}.sql ({script_label}) |"
        for c in levels:
            h = http["levels"][c]["ops"][op]["p50_ms"]
            s = sql.get(script, {}).get(c, {}).get("p50_ms")
            row += f" {fmt(h)} | {fmt(s)} | {ratio(h, s)} |"
        print(row)
    print()
    for c in levels:
        h = http["levels"][c]["ops"]["create"]["p50_ms"]
        s = sql.get("insert", {}).get(c, {}).get("p50_ms")
        rps = http["levels"][c]["requests_per_second"]
        cyc = sql.get("cycle", {}).get(c, {}).get("tps")
        line = f"- c={c}: **p50(POST /api/tasks) / p50(raw INSERT) = {ratio(h, s)}** ({fmt(h)} ms / {fmt(s)} ms)"
        if cyc:
            line += f"; HTTP {rps:.0f} requests/s vs SQL {cyc * 6:.0f} statements/s in cycle.sql"
        print(line)
    return 0


def fmt(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.{digits}f}"


def fmt_int(v) -> str:
    return "–" if v is None else str(int(v))


def ratio(a, b) -> str:
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return "–"
    return f"{a / b:.1f}×"


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sql")
    s.add_argument("--dir", required=True)
    s.add_argument("--json-out")
    c = sub.add_parser("compare")
    c.add_argument("--http", required=True)
    c.add_argument("--sql", required=True)
    args = p.parse_args(argv)
    return cmd_sql(args) if args.cmd == "sql" else cmd_compare(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
