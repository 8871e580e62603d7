#!/usr/bin/env python3
"""A scripted stand-in for the OpenAI Chat Completions API, for bench/perf (standard library only).

  fake_openai.py --port PORT --log FILE

Answers `POST /v1/chat/completions` (streamed, as the chat function asks) on 127.0.0.1:PORT: a
request whose newest message is the user's "show my tasks" gets one `list_tasks` call; any other
gets a short text. Each request is appended to FILE as a JSON line {"bytes": N, "body": "..."}:
what a real model would be sent, and billed for.
"""

import argparse
import http.server
import json
import threading


def chunk(delta, finish=None):
    body = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": "bench",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(body)}\n\n"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    log_path = ""
    calls = 0

    def log_message(self, *args):
        pass

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        with Handler.lock:
            Handler.calls += 1
            call = Handler.calls
            with open(Handler.log_path, "a") as f:
                f.write(json.dumps({"bytes": len(raw), "body": raw.decode()}) + "\n")
        request = json.loads(raw)
        last = request["messages"][-1]
        if last.get("role") == "user" and "show my tasks" in (last.get("content") or ""):
            call_id = f"call_{call}"
            chunks = [
                chunk({"role": "assistant", "tool_calls": [{"index": 0, "id": call_id, "type": "function",
                       "function": {"name": "list_tasks", "arguments": "{}"}}]}),
                chunk({}, "tool_calls"),
            ]
        else:
            chunks = [chunk({"role": "assistant", "content": "Here is your list."}), chunk({}, "stop")]
        body = ("".join(chunks) + "data: [DONE]\n\n").encode()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    Handler.log_path = args.log
    open(args.log, "w").close()
    http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
