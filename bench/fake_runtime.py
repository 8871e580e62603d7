#!/usr/bin/env python3
"""A stand-in for the AWS Lambda Runtime API, for bench/lambda (standard library only).

  fake_runtime.py --function tasks|chat|mcp --bin PATH --token TOKEN [--invocations N] [--starts K]
                  [--json-out FILE]

Starts the function binary K times (each a cold start) with AWS_LAMBDA_RUNTIME_API pointing here,
hands it N events one after another (a Function URL / HTTP API v2 event; chat: a ChatKit
`threads.create`, which answers with an SSE stream) and reads its responses, buffered or streamed
(`Lambda-Runtime-Function-Response-Mode: streaming`, chunked). Measures, per start: exec to the end
of the first response; per invocation: from handing out the event to the end of its response, and
to its first body byte; the process's peak RSS (VmHWM) after the last invocation. Prints a markdown
row per function and writes the raw numbers to --json-out.

The rest of the environment (DATABASE_URL, AUTH_JWT_SECRET, CHAT_*) comes from the caller.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import queue
import statistics
import subprocess
import threading
import time
import uuid

BASE = "/2018-06-01/runtime"


def event(function: str, token: str, n: int) -> dict:
    if function == "tasks":
        method, path, body = "GET", "/api/tasks", None
    elif function == "mcp":
        method, path = "POST", "/mcp"
        body = json.dumps({"jsonrpc": "2.0", "id": n, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}})
    else:
        method, path = "POST", "/chatkit"
        body = json.dumps({"type": "threads.create", "params": {"input": {
            "content": [{"type": "input_text", "text": f"hello {n}"}], "quoted_text": "", "attachments": [],
            "inference_options": {}}}})
    headers = {"host": "localhost", "authorization": f"Bearer {token}", "content-type": "application/json",
               "accept": "application/json, text/event-stream"}
    now = time.time()
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench", "domainName": "localhost", "domainPrefix": "bench",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": "bench"},
            "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)), "timeEpoch": int(now * 1000),
        },
        "body": body, "isBase64Encoded": False,
    }


class Runtime:
    """The events of one process's life and what it answered."""

    def __init__(self, events: list[dict]):
        self.events = events
        self.next = 0
        self.handed: dict[str, float] = {}
        self.results: list[dict] = []
        self.done = queue.Queue()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    runtime: Runtime

    def log_message(self, *args):
        pass

    def reply(self, status: int, body: bytes = b"{}", headers: dict | None = None):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        rt = Handler.runtime
        if self.path != f"{BASE}/invocation/next":
            return self.reply(404)
        if rt.next >= len(rt.events):
            time.sleep(3600)  # no more work: the process is stopped meanwhile
            return
        request_id = str(uuid.uuid4())
        body = json.dumps(rt.events[rt.next]).encode()
        rt.next += 1
        rt.handed[request_id] = time.perf_counter()
        self.reply(200, body, {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 60_000),
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:bench",
            "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000",
        })

    def do_POST(self):
        rt = Handler.runtime
        parts = self.path[len(BASE):].split("/")
        if self.path.endswith("/init/error") or self.path.endswith("/error"):
            length = int(self.headers.get("content-length", 0))
            detail = self.rfile.read(length).decode(errors="replace")
            self.reply(202)
            rt.done.put({"error": detail})
            return
        request_id = parts[2] if len(parts) > 3 else ""
        first_byte = None
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass  # trailers
                    break
                chunk = self.rfile.read(size)
                self.rfile.readline()
                body += chunk
                # The streamed prelude (status, headers) ends with 8 NUL bytes; the body follows.
                if first_byte is None and b"\0" * 8 in body and not body.endswith(b"\0" * 8):
                    first_byte = time.perf_counter()
            streamed = True
        else:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            streamed = False
        finished = time.perf_counter()
        self.reply(202)
        handed = rt.handed.get(request_id, finished)
        rt.done.put({
            "ms": (finished - handed) * 1000,
            "first_byte_ms": ((first_byte or finished) - handed) * 1000,
            "streamed": streamed, "bytes": len(body), "finished": finished,
            "ok": b'"statusCode":200' in body or b'"statusCode": 200' in body,
        })


def life(args, runtime: Runtime, port: int) -> dict:
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}", AWS_LAMBDA_FUNCTION_NAME=f"bench-{args.function}",
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
               AWS_LAMBDA_LOG_STREAM_NAME="bench", AWS_LAMBDA_LOG_GROUP_NAME="bench", AWS_REGION="us-east-1")
    started = time.perf_counter()
    process = subprocess.Popen([args.bin], env=env, stdout=subprocess.DEVNULL, stderr=open(args.log, "ab"))
    results = []
    try:
        for _ in runtime.events:
            outcome = runtime.done.get(timeout=60)
            if "error" in outcome:
                raise SystemExit(f"{args.function}: the function reported an error: {outcome['error'][:300]}")
            if not outcome["ok"]:
                raise SystemExit(f"{args.function}: a response was not a 200: {outcome}")
            results.append(outcome)
        with open(f"/proc/{process.pid}/status") as f:
            hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    finally:
        process.kill()
        process.wait()
    return {"first_response_ms": (results[0]["finished"] - started) * 1000, "hwm_kb": hwm,
            "invocations": results[1:]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--function", choices=["tasks", "chat", "mcp"], required=True)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--invocations", type=int, default=100)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--label", default="")
    parser.add_argument("--log", default="/dev/null")
    parser.add_argument("--json-out")
    args = parser.parse_args()
    lives = []
    for start in range(args.starts):
        runtime = Runtime([event(args.function, args.token, n) for n in range(args.invocations)])
        Handler.runtime = runtime
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            lives.append(life(args, runtime, server.server_address[1]))
        finally:
            server.shutdown()
            server.server_close()
    first = statistics.median(life["first_response_ms"] for life in lives)
    warm = [i["ms"] for life in lives for i in life["invocations"]]
    first_byte = [i["first_byte_ms"] for life in lives for i in life["invocations"]]
    hwm = max(life["hwm_kb"] for life in lives)
    label = args.label or args.function
    print(f"| {label} | {first:.1f} | {statistics.median(warm):.2f} | {statistics.median(first_byte):.2f} "
          f"| {hwm / 1024:.1f} |")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(lives, f)


if __name__ == "__main__":
    main()
