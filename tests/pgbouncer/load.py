"""Concurrent task CRUD against `smart-todo serve` (SERVE_URL, ALICE_TOKEN, BOB_TOKEN), so that
requests interleave on the server connections of a transaction pooler in front of it.

Each of 8 workers creates, reads, renames, completes and deletes tasks of its own (titles tagged
with the worker), 40 rounds each; every answer must be the expected 2xx with the expected body, and
at the end each worker's surviving tasks are exactly the ones it kept. Prints one line per check
and `pgbouncer load: N passed, M failed`; exits 1 on any failure. Stdlib only.
"""

import json
import os
import sys
import threading
import urllib.error
import urllib.request

BASE = os.environ["SERVE_URL"]
TOKENS = [os.environ["ALICE_TOKEN"], os.environ["BOB_TOKEN"]]
WORKERS = 8
ROUNDS = 40

failures = []
lock = threading.Lock()


def call(token, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, raw.decode(errors="replace")


def expect(worker, what, got, status):
    if got[0] != status:
        with lock:
            failures.append(f"worker {worker}: {what}: {got[0]} {got[1]}")
        return False
    return True


def work(worker):
    token = TOKENS[worker % 2]
    tag = f"w{worker}"
    kept = set()
    for i in range(ROUNDS):
        created = call(token, "POST", "/api/tasks", {"title": f"{tag} task {i}"})
        if not expect(worker, "create", created, 201):
            continue
        task_id = created[1]["id"]
        got = call(token, "GET", f"/api/tasks/{task_id}")
        if expect(worker, "get", got, 200) and got[1]["title"] != f"{tag} task {i}":
            with lock:
                failures.append(f"worker {worker}: get returned {got[1]}")
        renamed = call(token, "PATCH", f"/api/tasks/{task_id}", {"title": f"{tag} renamed {i}"})
        expect(worker, "rename", renamed, 200)
        expect(worker, "complete", call(token, "POST", f"/api/tasks/{task_id}/complete"), 200)
        if i % 2:
            expect(worker, "delete", call(token, "DELETE", f"/api/tasks/{task_id}"), 204)
        else:
            kept.add(task_id)
    return tag, token, kept


results = {}


def run(worker):
    results[worker] = work(worker)


threads = [threading.Thread(target=run, args=(w,)) for w in range(WORKERS)]
for t in threads:
    t.start()
for t in threads:
    t.join()

def every_task(token):
    tasks, cursor = [], None
    while True:
        path = "/api/tasks?limit=100" + (f"&cursor={cursor}" if cursor else "")
        status, page = call(token, "GET", path)
        if status != 200:
            failures.append(f"list: {status} {page}")
            return tasks
        tasks += page["tasks"]
        cursor = page["next_cursor"]
        if not cursor:
            return tasks


passed = 0
for worker in range(WORKERS):
    tag, token, kept = results[worker]
    listed = [t for t in every_task(token) if t["title"].startswith(f"{tag} ")]
    mine = {t["id"] for t in listed}
    if mine == kept and all(t["completed"] and t["title"].startswith(f"{tag} renamed ") for t in listed):
        passed += 1
        print(f"PASS worker {worker}: {len(kept)} tasks kept, renamed and completed, the rest deleted")
    else:
        failures.append(f"worker {worker}: kept {sorted(kept)}, listed {sorted(mine)}")

for failure in failures[:20]:
    print(f"FAIL {failure}")
print(f"pgbouncer load: {passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
