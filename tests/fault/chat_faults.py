#!/usr/bin/env python3
"""Chat turns under database faults: `POST /api/chat` while PostgreSQL restarts.

Six client threads (users fault-0..fault-5, one or two conversations each) send chat turns for 30 s:
"add fault-<client>-<n>" and now and then "what's pending? (fault-<client>-<n>)", each with a fresh
`Idempotency-Key`. Meanwhile the test cluster is stopped (-m fast) and started again three times
(at ~6 s, ~14 s, ~22 s) through scripts/lib/fault.sh. A turn answered 503, 409 or with a connection
error is resent with the SAME key and body (Retry-After honoured, capped) until it gets 200; a turn
not acknowledged after 120 s (or past the run's deadline) counts as a failure. Two more faults make
the outcome independent of restart timing:

  * every --double-every-th turn on a known conversation is sent twice at once with the same key
    (a client resending while its first attempt still runs): both must end with the same answer;
  * every --drop-every-th turn is first sent on a connection the client closes without reading the
    answer, then resent with the same key: alternately once the answer is there ("lost": the turn
    ran, its reply never arrived) and right after sending ("cancel": the server may drop the
    request at any point of the turn).

Then, with PostgreSQL back, it checks:

  * no duplicated effect: no (user, title) has two tasks, and every acknowledged "add" turn's task
    exists exactly once;
  * every acknowledged turn is stored once: its user message appears exactly once in its
    conversation, followed by exactly one visible assistant reply (role 'assistant', no tool_calls)
    before the next user message; ordered by messages.seq when that column exists, else by
    (created_at, id);
  * replaying a few acknowledged keys returns identical JSON, and changes no row;
  * every conversation still answers one more "what's pending?" with 200;
  * no 5xx other than 503 was ever answered, and every 503/409 carried Retry-After;
  * a restart while the server is stopped (SIGSTOP, as Lambda freezes an idle instance while Neon
    suspends its compute), twice: twelve requests wait at the thaw, six at once, each sent once, and
    all answer 200 although every pooled connection died (the layer runs the server with
    DB_VERIFY_IDLE_MS=1000; --frozen-idle, default 1.5 s, must exceed it).

Every wait is bounded: a turn is given up after --turn-budget (120 s) or --grace (60 s) after the
load, whichever comes first; replays and final turns get 30 s each. Typically 35 s in all.

Environment: SERVE_URL, DATABASE_URL and AUTH_JWT_SECRET (scripts/lib/serve.sh sets them),
SMART_TODO_BIN (default target/debug/smart-todo, to mint tokens) and FAULT_HELPER plus FAULT_PG_*
(scripts/lib/fault.sh's fault_pg_export). Prints one line per check, the counts observed, and ends
with `chat faults: N passed, M failed`; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402  (tests/lib, shared by the protocol clients)

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
RESENT_STATUSES = {409, 503}


def now() -> float:
    return time.monotonic()


# ------------------------------------------------------------------------------------------------
# What was seen
# ------------------------------------------------------------------------------------------------


class Stats:
    """Counters shared by all threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.conn_errors = 0
        self.conn_error_kinds: Counter[str] = Counter()
        self.dropped = 0
        self.resends = 0
        self.no_retry_after: list[str] = []
        self.unexpected: list[str] = []

    def status(self, status: int, retry_after: str | None, where: str) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status in RESENT_STATUSES and retry_after is None:
                self.no_retry_after.append(f"{status} on {where}")

    def conn_error(self, kind: str) -> None:
        with self.lock:
            self.conn_errors += 1
            self.conn_error_kinds[kind] += 1

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def note_unexpected(self, text: str) -> None:
        with self.lock:
            self.unexpected.append(text)


@dataclass
class Turn:
    client: int
    user: str
    token: str
    slot: int
    n: int
    kind: str  # "add" | "pending" | "final"
    text: str
    key: str
    body: dict[str, Any]
    mode: str = "plain"  # "plain" | "double" | "lost" | "cancel"


@dataclass
class Ack:
    turn: Turn
    answer: dict[str, Any]
    attempts: int
    seconds: float


@dataclass
class Outcome:
    answer: dict[str, Any] | None
    attempts: int
    seconds: float
    why: str = ""
    statuses: list[Any] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------
# HTTP
# ------------------------------------------------------------------------------------------------


class Api:
    def __init__(self, base_url: str, stats: Stats, request_timeout: float, retry_after_cap: float):
        url = urllib.parse.urlsplit(base_url)
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or 80
        self.stats = stats
        self.request_timeout = request_timeout
        self.retry_after_cap = retry_after_cap

    def _headers(self, turn: Turn) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {turn.token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": turn.key,
            "Connection": "close",
        }

    def post(self, turn: Turn, give_up_at: float | None = None) -> tuple[int | None, str | None, Any, str]:
        """One attempt: (status, Retry-After, parsed JSON or None, raw text or the connection error).
        Its timeout ends at give_up_at at the latest (but is at least 1 s)."""
        data = json.dumps(turn.body).encode()
        timeout = self.request_timeout
        if give_up_at is not None:
            timeout = max(1.0, min(timeout, give_up_at - now()))
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request("POST", "/api/chat", body=data, headers=self._headers(turn))
            response = conn.getresponse()
            raw = response.read().decode("utf-8", "replace")
            retry_after = response.getheader("Retry-After")
            status = response.status
        except (OSError, http.client.HTTPException) as err:
            kind = type(err).__name__
            self.stats.conn_error(kind)
            return None, None, None, f"{kind}: {err}"
        finally:
            conn.close()
        self.stats.status(status, retry_after, f"{turn.user} {turn.text!r}")
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return status, retry_after, parsed, raw

    def send_and_drop(self, turn: Turn, wait_for_answer: bool) -> None:
        """Sends the turn and closes the connection without reading the answer: once the answer has
        arrived (wait_for_answer: a lost reply), or at once (the server may cancel the turn)."""
        data = json.dumps(turn.body).encode()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.request_timeout)
        try:
            conn.request("POST", "/api/chat", body=data, headers=self._headers(turn))
            if wait_for_answer and conn.sock is not None:
                select.select([conn.sock], [], [], self.request_timeout)
        except (OSError, http.client.HTTPException) as err:
            self.stats.conn_error(type(err).__name__)
        finally:
            conn.close()
        self.stats.add("dropped")

    def wait_for(self, retry_after: str | None, attempt: int) -> float:
        if retry_after is not None:
            try:
                seconds = float(retry_after)
            except ValueError:
                seconds = 1.0  # an HTTP-date: not worth parsing here
            return max(0.05, min(seconds, self.retry_after_cap))
        # No Retry-After (a connection error): short exponential backoff.
        return min(0.1 * (2 ** min(attempt, 5)), 2.0)

    def deliver(self, turn: Turn, give_up_at: float, resend_first: bool = False) -> Outcome:
        """Sends the turn until 200, resending the same key and body on 409/503/connection errors
        (and on other 5xx, which are counted as failures anyway). Stops at give_up_at."""
        started = now()
        attempts = 0
        seen: list[Any] = []
        while True:
            if attempts or resend_first:
                self.stats.add("resends")
            attempts += 1
            status, retry_after, parsed, raw = self.post(turn, give_up_at)
            seen.append(status if status is not None else "conn")
            if status == 200:
                if isinstance(parsed, dict):
                    return Outcome(parsed, attempts, now() - started, statuses=seen)
                self.stats.note_unexpected(f"200 without a JSON object for {turn.text!r}: {raw[:200]}")
                return Outcome(None, attempts, now() - started, "200 without a JSON object", seen)
            if status is not None and status not in RESENT_STATUSES and status < 500:
                self.stats.note_unexpected(f"{status} for {turn.user} {turn.text!r}: {raw[:300]}")
                return Outcome(None, attempts, now() - started, f"answered {status}: {raw[:200]}", seen)
            if status is not None and status >= 500 and status != 503:
                self.stats.note_unexpected(f"{status} for {turn.user} {turn.text!r}: {raw[:300]}")
            pause = self.wait_for(retry_after, attempts)
            if now() + pause > give_up_at:
                last = raw[:200] if status is not None else raw
                return Outcome(None, attempts, now() - started,
                               f"gave up after {attempts} attempts / {now() - started:.1f} s "
                               f"(last: {status if status is not None else 'connection error'} {last})",
                               seen)
            time.sleep(pause)


# ------------------------------------------------------------------------------------------------
# Database and cluster
# ------------------------------------------------------------------------------------------------


def psql(sql: str, timeout: float = 60) -> str:
    done = subprocess.run(
        ["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", os.environ["DATABASE_URL"], "-c", sql],
        capture_output=True, text=True, timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"psql failed ({done.returncode}): {done.stderr.strip()} -- SQL: {sql[:300]}")
    return done.stdout.strip()


def psql_json(sql: str) -> Any:
    return json.loads(psql(f"SELECT coalesce(json_agg(t), '[]'::json) FROM ({sql}) t") or "[]")


def wait_db(seconds: float) -> bool:
    deadline = now() + seconds
    while now() < deadline:
        try:
            psql("SELECT 1", timeout=5)
            return True
        except (RuntimeError, subprocess.TimeoutExpired):
            time.sleep(0.2)
    return False


def restart_cluster(down: float) -> tuple[bool, str]:
    helper = os.environ["FAULT_HELPER"]
    try:
        done = subprocess.run(
            ["bash", "-c", '. "$0" && fault_pg_restart "$1"', helper, str(down)],
            capture_output=True, text=True, timeout=90,
        )
    except subprocess.TimeoutExpired:
        return False, "fault_pg_restart timed out after 90 s"
    return done.returncode == 0, (done.stderr or done.stdout).strip()[-500:]


def first_try(api: "Api", tokens: list[str], answers: list[str]) -> None:
    """GET /api/tasks once per token, six at a time, no resend: appends each status (or the error)."""
    def one(token: str) -> str:
        conn = http.client.HTTPConnection(api.host, api.port, timeout=30)
        try:
            conn.request("GET", "/api/tasks?limit=1", headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            response.read()
            return str(response.status)
        except (OSError, http.client.HTTPException) as err:
            return f"connection error: {err}"
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers.extend(pool.map(one, tokens))


def message_order() -> str:
    """ORDER BY of messages: seq when the column exists (schema V2), else (created_at, id)."""
    has_seq = psql(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'messages' AND column_name = 'seq'"
    )
    return "seq" if has_seq == "1" else "created_at, id"


def token_for(binary: str, user: str) -> str:
    done = subprocess.run([binary, "token", "--user", user], capture_output=True, text=True, timeout=60)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"{binary} token --user {user} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def expected_title(text: str) -> str:
    """What the offline assistant makes of "add <title>": the title, first letter capitalised."""
    title = text[len("add "):]
    return title[:1].upper() + title[1:]


def category(ack: Ack) -> str:
    """How a turn was delivered: lost / cancel / double (the injected faults), resent (after
    503/409/connection errors), plain."""
    if ack.turn.mode != "plain":
        return ack.turn.mode
    return "resent" if ack.attempts > 1 else "plain"


def by_category(acks: list[Ack]) -> str:
    counts = Counter(category(a) for a in acks)
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def sample(items: list[str], limit: int = 5) -> str:
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return "; ".join(items[:limit]) + more


# ------------------------------------------------------------------------------------------------
# The run
# ------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("SERVE_URL", ""))
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long new turns are started")
    parser.add_argument("--restarts-at", default="6,14,22", help="seconds into the load (comma-separated)")
    parser.add_argument("--frozen-idle", type=float, default=1.5,
                        help="seconds the frozen server's connections sit idle (above its DB_VERIFY_IDLE_MS)")
    parser.add_argument("--down", type=float, default=1.0, help="seconds the cluster stays down per restart")
    parser.add_argument("--turn-budget", type=float, default=120.0, help="give up on one turn after this")
    parser.add_argument("--grace", type=float, default=60.0,
                        help="after the load, resends of unfinished turns stop this many seconds later")
    parser.add_argument("--think", type=float, default=0.02, help="pause between a client's turns")
    parser.add_argument("--pending-every", type=int, default=4)
    parser.add_argument("--double-every", type=int, default=7, help="0: never send a turn twice at once")
    parser.add_argument("--drop-every", type=int, default=9, help="0: never drop a connection")
    parser.add_argument("--request-timeout", type=float, default=15.0)
    parser.add_argument("--retry-after-cap", type=float, default=5.0)
    parser.add_argument("--replays", type=int, default=8)
    return parser.parse_args()


def run(args: argparse.Namespace, checks: Checks) -> None:
    missing = [v for v in ("DATABASE_URL", "AUTH_JWT_SECRET", "FAULT_HELPER", "FAULT_PG_DATA", "FAULT_PG_PORT")
               if not os.environ.get(v)]
    if not args.base_url:
        missing.insert(0, "SERVE_URL")
    if missing:
        checks.check("environment for the fault test", False,
                     f"{', '.join(missing)} not set (run it through scripts/test's layer_chat_faults)")
        return

    binary = os.environ.get("SMART_TODO_BIN") or os.path.join(
        os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "debug", "smart-todo")
    users = [f"fault-{c}" for c in range(args.clients)]
    tokens = {u: token_for(binary, u) for u in users}
    restart_at = [float(x) for x in args.restarts_at.split(",") if x.strip()]

    stats = Stats()
    api = Api(args.base_url, stats, args.request_timeout, args.retry_after_cap)
    acks: list[Ack] = []
    failures: list[str] = []
    doubles: list[tuple[Turn, Outcome, Outcome]] = []
    wrong_conversation: list[str] = []
    conversations: dict[int, list[str | None]] = {}
    lock = threading.Lock()

    started_postmaster = psql("SELECT pg_postmaster_start_time()")
    load_start = now()
    load_end = load_start + args.seconds
    hard_deadline = load_end + args.grace

    def record(turn: Turn, outcome: Outcome) -> dict[str, Any] | None:
        with lock:
            if outcome.answer is None:
                failures.append(f"{turn.user} {turn.text!r} ({turn.mode}): {outcome.why}")
                return None
            acks.append(Ack(turn, outcome.answer, outcome.attempts, outcome.seconds))
            asked = turn.body.get("conversation_id")
            got = outcome.answer.get("conversation_id")
            if asked is not None and got != asked:
                wrong_conversation.append(f"{turn.text!r} sent to {asked} answered for {got}")
            return outcome.answer

    crashes: list[str] = []

    def client_loop(c: int) -> None:
        try:
            client_turns(c)
        except Exception as err:  # noqa: BLE001 - reported as a failed check
            traceback.print_exc()
            with lock:
                crashes.append(f"fault-{c}: {type(err).__name__}: {err}")

    def client_turns(c: int) -> None:
        user = users[c]
        slots: list[str | None] = [None] * (1 + c % 2)
        conversations[c] = slots
        n = 0
        while now() < load_end:
            slot = n % len(slots)
            pending = args.pending_every > 0 and n % args.pending_every == args.pending_every - 1
            text = f"what's pending? (fault-{c}-{n})" if pending else f"add fault-{c}-{n}"
            body: dict[str, Any] = {"message": text}
            if slots[slot] is not None:
                body["conversation_id"] = slots[slot]
            mode = "plain"
            if args.double_every and slots[slot] is not None and n % args.double_every == args.double_every - 1:
                mode = "double"
            elif args.drop_every and n % args.drop_every == args.drop_every - 1:
                mode = "lost" if (n // args.drop_every) % 2 == 0 else "cancel"
            turn = Turn(c, user, tokens[user], slot, n, "pending" if pending else "add", text,
                        str(uuid.uuid4()), body, mode)
            give_up_at = min(now() + args.turn_budget, hard_deadline)
            if mode == "double":
                results: list[Outcome | None] = [None, None]

                def one(i: int, turn: Turn = turn, give_up_at: float = give_up_at) -> None:
                    results[i] = api.deliver(turn, give_up_at, resend_first=(i == 1))

                pair = [threading.Thread(target=one, args=(i,), daemon=True) for i in (0, 1)]
                for t in pair:
                    t.start()
                for t in pair:
                    t.join()
                first, second = results[0], results[1]
                assert first is not None and second is not None
                with lock:
                    doubles.append((turn, first, second))
                outcome = first if first.answer is not None else second
            elif mode in ("lost", "cancel"):
                api.send_and_drop(turn, wait_for_answer=(mode == "lost"))
                outcome = api.deliver(turn, give_up_at, resend_first=True)
            else:
                outcome = api.deliver(turn, give_up_at)
            answer = record(turn, outcome)
            if answer is not None and slots[slot] is None and isinstance(answer.get("conversation_id"), str):
                slots[slot] = answer["conversation_id"]
            n += 1
            if args.think > 0:
                time.sleep(args.think)

    restarts: list[tuple[float, bool, float, str]] = []

    def restarter() -> None:
        for at in restart_at:
            pause = load_start + at - now()
            if pause > 0:
                time.sleep(pause)
            t0 = now()
            ok, detail = restart_cluster(args.down)
            restarts.append((t0 - load_start, ok, now() - t0, detail))
            print(f"     restart {len(restarts)} at t+{t0 - load_start:.1f} s: "
                  f"{'ok' if ok else 'FAILED'} in {now() - t0:.1f} s (down {args.down:g} s)"
                  f"{'' if ok else ': ' + detail}", flush=True)

    print(f"     {args.clients} clients x {args.seconds:g} s of /api/chat turns against {args.base_url}; "
          f"PostgreSQL restarts at t+{', '.join(f'{x:g}' for x in restart_at)} s", flush=True)
    threads = [threading.Thread(target=client_loop, args=(c,), daemon=True) for c in range(args.clients)]
    chaos = threading.Thread(target=restarter, daemon=True)
    chaos.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, hard_deadline + args.request_timeout + 30 - now()))
    chaos.join(timeout=max(1.0, hard_deadline - now()))
    stuck = [t for t in threads if t.is_alive()]
    load_seconds = now() - load_start

    db_back = wait_db(30)
    checks.check("PostgreSQL accepts connections after the load", db_back)
    if not db_back:
        return

    # -------------------------------------------------------------------------------------------
    # Counts
    # -------------------------------------------------------------------------------------------
    sent_turns = len(acks) + len(failures)
    s = stats
    print(f"     turns: {sent_turns} started, {len(acks)} acknowledged, {len(failures)} given up "
          f"(in {load_seconds:.1f} s; {sum(1 for a in acks if a.turn.kind == 'add')} add, "
          f"{sum(1 for a in acks if a.turn.kind == 'pending')} pending)", flush=True)
    print(f"     requests: {sum(s.statuses.values())} answered {dict(sorted(s.statuses.items()))}, "
          f"503s {s.statuses[503]}, 409s {s.statuses[409]}, connection errors {s.conn_errors} "
          f"{dict(s.conn_error_kinds)}, resends {s.resends}, dropped on purpose {s.dropped}, "
          f"sent twice at once {len(doubles)}, restarts done {sum(1 for r in restarts if r[1])}/{len(restart_at)}",
          flush=True)
    if acks:
        slow = max(acks, key=lambda a: a.seconds)
        print(f"     slowest acknowledged turn: {slow.seconds:.1f} s over {slow.attempts} attempts; "
              f"turns needing resends: {sum(1 for a in acks if a.attempts > 1)}", flush=True)

    # -------------------------------------------------------------------------------------------
    # The fault injection itself
    # -------------------------------------------------------------------------------------------
    checks.check(f"PostgreSQL restarted {len(restart_at)} times during the load",
                 len(restarts) == len(restart_at) and all(r[1] for r in restarts),
                 [f"t+{r[0]:.1f}: {'ok' if r[1] else r[3]}" for r in restarts])
    if restart_at:
        moved = psql("SELECT pg_postmaster_start_time()") != started_postmaster
        checks.check("the postmaster is a new one (the restarts really happened)", moved,
                     f"still started at {started_postmaster}")
    checks.check("every client thread finished", not stuck, f"{len(stuck)} still running")
    checks.check("no client thread crashed", not crashes, sample(crashes))
    checks.check("some turns were acknowledged", len(acks) > 0, "none")

    # -------------------------------------------------------------------------------------------
    # Turn outcomes and statuses
    # -------------------------------------------------------------------------------------------
    checks.check(f"every turn was eventually acknowledged ({len(acks)}/{sent_turns})", not failures,
                 sample(failures))
    bad_5xx = {k: v for k, v in s.statuses.items() if k >= 500 and k != 503}
    checks.check("no 5xx other than 503 was answered", not bad_5xx,
                 f"{bad_5xx}: {sample([u for u in s.unexpected if u[:1] == '5'])}")
    other = [u for u in s.unexpected if u[:1] != "5"]
    checks.check("no unexpected status (only 200, and 409/503 before a resend)", not other, sample(other))
    checks.check("every 503 and 409 carried Retry-After", not s.no_retry_after,
                 f"{len(s.no_retry_after)} without: {sample(s.no_retry_after)}")
    checks.check("every answer names the conversation it was sent to", not wrong_conversation,
                 sample(wrong_conversation))
    if doubles:
        differing = []
        for turn, a, b in doubles:
            if a.answer is None or b.answer is None:
                differing.append(f"{turn.user} {turn.text!r}: {a.why or 'ok'} / {b.why or 'ok'}")
            elif a.answer != b.answer:
                differing.append(f"{turn.user} {turn.text!r}: {json.dumps(a.answer)[:160]} != "
                                 f"{json.dumps(b.answer)[:160]}")
        checks.check(f"a turn sent twice at once with one key got one answer ({len(doubles)} pairs)",
                     not differing, f"{len(differing)} differ: {sample(differing, 3)}")

    # -------------------------------------------------------------------------------------------
    # Effects in the database
    # -------------------------------------------------------------------------------------------
    dup_rows = psql_json("SELECT user_id, title, count(*) AS n FROM tasks GROUP BY 1, 2 HAVING count(*) > 1")
    checks.check("no task is duplicated (SELECT user_id, title, count(*) ... HAVING count(*) > 1 is empty)",
                 not dup_rows,
                 f"{len(dup_rows)} duplicated: "
                 f"{sample(['%s %r x%s' % (r['user_id'], r['title'], r['n']) for r in dup_rows])}")
    task_counts = {(r["user_id"], r["title"]): r["n"]
                   for r in psql_json("SELECT user_id, title, count(*) AS n FROM tasks GROUP BY 1, 2")}
    add_acks = [a for a in acks if a.turn.kind == "add"]
    wrong_tasks, wrong_task_acks = [], []
    for a in add_acks:
        title = expected_title(a.turn.text)
        n = task_counts.get((a.turn.user, title), 0)
        if n != 1:
            calls = a.answer.get("tool_calls") or []
            tool = next((c for c in calls if isinstance(c, dict) and c.get("name") == "add_task"), None)
            why = f"add_task result {json.dumps(tool.get('result'))[:120]}" if tool else "no add_task call"
            wrong_tasks.append(f"{a.turn.user} {title!r} x{n} ({why}; {a.attempts} attempts, {category(a)})")
            wrong_task_acks.append(a)
    checks.check(f"every acknowledged add turn's task exists exactly once ({len(add_acks)} turns: "
                 f"{by_category(add_acks)})",
                 not wrong_tasks,
                 f"{len(wrong_tasks)} wrong ({by_category(wrong_task_acks)}): {sample(wrong_tasks)}")
    acked_titles = {(a.turn.user, expected_title(a.turn.text)) for a in add_acks}
    extra = sorted(k for k in task_counts if k not in acked_titles and k[0] in tokens)
    if extra:
        print(f"     note: {len(extra)} task title(s) from turns never acknowledged: "
              f"{sample([f'{u} {t!r}' for u, t in extra])}", flush=True)

    order = message_order()
    print(f"     messages ordered by {order}", flush=True)
    turns_sql = f"""
        WITH m AS (
            SELECT conversation_id, role, content, tool_calls,
                   sum(CASE WHEN role = 'user' THEN 1 ELSE 0 END)
                       OVER (PARTITION BY conversation_id ORDER BY {order} ROWS UNBOUNDED PRECEDING) AS turn_no
            FROM messages
        )
        SELECT conversation_id::text AS conversation_id, turn_no,
               max(content) FILTER (WHERE role = 'user') AS text,
               count(*) FILTER (WHERE role = 'assistant' AND tool_calls IS NULL) AS replies
        FROM m WHERE turn_no > 0
        GROUP BY conversation_id, turn_no"""
    stored: dict[tuple[str, str], list[int]] = {}
    for row in psql_json(turns_sql):
        stored.setdefault((row["conversation_id"], row["text"]), []).append(row["replies"])
    not_once, not_one_reply = [], []
    for a in acks:
        conv = a.answer.get("conversation_id")
        replies = stored.get((conv, a.turn.text), [])
        if len(replies) != 1:
            not_once.append((a, f"{a.turn.text!r} x{len(replies)} in {conv} ({a.attempts} attempts, {category(a)})"))
        elif replies[0] != 1:
            not_one_reply.append((a, f"{a.turn.text!r} has {replies[0]} visible replies ({a.attempts} attempts, "
                                     f"{category(a)})"))
    checks.check(f"every acknowledged user message is stored exactly once in its conversation ({len(acks)})",
                 not not_once,
                 f"{len(not_once)} wrong ({by_category([a for a, _ in not_once])}): "
                 f"{sample([t for _, t in not_once])}")
    checks.check("every acknowledged user message has exactly one visible assistant reply",
                 not not_one_reply,
                 f"{len(not_one_reply)} wrong ({by_category([a for a, _ in not_one_reply])}): "
                 f"{sample([t for _, t in not_one_reply])}")

    # -------------------------------------------------------------------------------------------
    # Replays: the same key and body again return the stored answer and change nothing
    # -------------------------------------------------------------------------------------------
    picks: list[Ack] = []
    for c in range(args.clients):
        mine = [a for a in acks if a.turn.client == c and a.turn.kind == "add"]
        resent = [a for a in mine if a.attempts > 1 or a.turn.mode != "plain"]
        if resent:
            picks.append(resent[0])
        elif mine:
            picks.append(mine[0])
    picks += [a for a in acks if a.turn.kind == "pending"][:2]
    picks = picks[: max(0, args.replays)]
    if picks:
        before = psql("SELECT (SELECT count(*) FROM tasks) || '/' || (SELECT count(*) FROM messages)")
        differing = []
        phase_end = now() + 30
        for a in picks:
            outcome = api.deliver(a.turn, min(now() + 20, phase_end))
            if outcome.answer != a.answer:
                got = json.dumps(outcome.answer)[:160] if outcome.answer is not None else outcome.why
                differing.append(f"{a.turn.text!r}: {json.dumps(a.answer)[:160]} -> {got}")
        after = psql("SELECT (SELECT count(*) FROM tasks) || '/' || (SELECT count(*) FROM messages)")
        checks.check(f"replaying {len(picks)} acknowledged keys returns identical JSON", not differing,
                     f"{len(differing)} differ: {sample(differing, 3)}")
        checks.check("the replays changed no row (tasks/messages counts)", before == after,
                     f"{before} before, {after} after")

    # -------------------------------------------------------------------------------------------
    # Every conversation still answers
    # -------------------------------------------------------------------------------------------
    unanswered = []
    total = 0
    phase_end = now() + 30
    for c in range(args.clients):
        for slot, conv in enumerate(conversations.get(c, [])):
            if conv is None:
                unanswered.append(f"fault-{c} slot {slot}: no conversation was ever acknowledged")
                continue
            total += 1
            user = users[c]
            turn = Turn(c, user, tokens[user], slot, -1, "final", f"what's pending? (final fault-{c}-{slot})",
                        str(uuid.uuid4()), {"conversation_id": conv, "message": f"what's pending? (final fault-{c}-{slot})"})
            outcome = api.deliver(turn, min(now() + 20, phase_end))
            if outcome.answer is None:
                unanswered.append(f"{conv}: {outcome.why}")
            elif outcome.answer.get("conversation_id") != conv:
                unanswered.append(f"{conv}: answered for {outcome.answer.get('conversation_id')}")
    checks.check(f"every conversation answers one more \"what's pending?\" with 200 ({total})",
                 not unanswered, sample(unanswered))
    bad_5xx = {k: v for k, v in s.statuses.items() if k >= 500 and k != 503}
    checks.check("still no 5xx other than 503 after replays and final turns", not bad_5xx, bad_5xx)
    print(f"     final counts: statuses {dict(sorted(s.statuses.items()))}, connection errors {s.conn_errors}, "
          f"resends {s.resends}", flush=True)

    # -------------------------------------------------------------------------------------------
    # A restart while the server is frozen, as Lambda freezes an idle instance while Neon suspends
    # its compute: at the thaw the requests already wait and every pooled connection is dead, but
    # the connection tasks have not yet seen it. No request may notice.
    # -------------------------------------------------------------------------------------------
    quiet_failures: list[str] = []
    quiet_requests = 0
    server_pid = int(os.environ.get("SERVE_PID", "0"))
    for round_no in range(2):
        if not server_pid:
            quiet_failures.append("SERVE_PID is not set: the server cannot be frozen")
            break
        # Fill the pool with idle connections, then restart PostgreSQL under the frozen server.
        first_try(api, [tokens[u] for u in users] * 2, [])
        os.kill(server_pid, signal.SIGSTOP)
        try:
            ok, detail = restart_cluster(args.down)
            if not ok or not wait_db(60):
                quiet_failures.append(f"round {round_no + 1}: the restart failed: {detail}")
                break
            time.sleep(args.frozen_idle)  # past the server's DB_VERIFY_IDLE_MS
            # Each request gets exactly one attempt: a 503 here is a request that failed.
            answers: list[str] = []
            sender = threading.Thread(target=first_try, args=(api, [tokens[u] for u in users] * 2, answers))
            sender.start()
            time.sleep(0.5)  # the requests reach the frozen server's socket buffers
        finally:
            os.kill(server_pid, signal.SIGCONT)
        sender.join(60)
        quiet_requests += len(answers)
        quiet_failures += [f"round {round_no + 1}: {a}" for a in answers if a != "200"]
    checks.check(f"after a restart under a frozen server, no request fails ({quiet_requests} first tries, "
                 "6 at once)", not quiet_failures and quiet_requests > 0, sample(quiet_failures))


def main() -> int:
    args = parse_args()
    checks = Checks()
    try:
        run(args, checks)
    except Exception as err:  # noqa: BLE001 - a crash is a failed check, and the summary still prints
        traceback.print_exc()
        checks.check("the fault test ran to the end", False, f"{type(err).__name__}: {err}")
    return checks.summary("chat faults")


if __name__ == "__main__":
    sys.exit(main())
