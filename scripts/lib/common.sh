# shellcheck shell=bash
# Small helpers shared by scripts/test, scripts/dev and bench/run. Source it; it defines functions only.

# The repository root (the parent of scripts/).
REPO_ROOT="${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

log() { printf '[%s] %s\n' "${LOG_TAG:-smart-todo}" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "${LOG_TAG:-smart-todo}" "$*" >&2; }
die() {
    printf '[%s] ERROR: %s\n' "${LOG_TAG:-smart-todo}" "$*" >&2
    exit 1
}

# banner "title": a visible separator per test layer / phase (with the time since START_TIME when set).
banner() {
    local t=""
    if [ -n "${START_TIME:-}" ]; then t=" [t+$((SECONDS - START_TIME)) s]"; fi
    printf '\n==== %s ====%s\n' "$*" "$t" >&2
}

# is_ci: true when running under CI (CI=true / CI=1).
is_ci() {
    case "${CI:-}" in
    true | TRUE | True | 1 | yes) return 0 ;;
    *) return 1 ;;
    esac
}

# require_cmd cmd [hint]: fail (always) when a command is missing.
require_cmd() {
    command -v "$1" >/dev/null 2>&1 || die "required command '$1' not found${2:+ ($2)}"
}

# free_port: print a TCP port on 127.0.0.1 that is free right now (the kernel picks it).
free_port() {
    python3 - <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# port_is_free PORT: succeed when nothing listens on 127.0.0.1:PORT and it can be bound.
port_is_free() {
    python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
# Servers bind with SO_REUSEADDR: a port held only by TIME_WAIT connections is free for them.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
EOF
}

# wait_tcp HOST PORT TIMEOUT_SECONDS [PID]: wait until a TCP connect succeeds.
# When PID is given, fail early if that process has exited.
wait_tcp() {
    local host="$1" port="$2" timeout="$3" pid="${4:-}"
    python3 - "$host" "$port" "$timeout" "$pid" <<'EOF'
import os, socket, sys, time
host, port, timeout, pid = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    if pid:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            sys.exit(2)
    try:
        socket.create_connection((host, port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}

# wait_http URL TIMEOUT_SECONDS [PID]: wait until GET URL answers 200.
# When PID is given, fail early if that process has exited.
wait_http() {
    local url="$1" timeout="$2" pid="${3:-}"
    python3 - "$url" "$timeout" "$pid" <<'EOF'
import os, sys, time, urllib.request, urllib.error
url, timeout, pid = sys.argv[1], float(sys.argv[2]), sys.argv[3]
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    if pid:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            sys.exit(2)
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except (urllib.error.URLError, OSError):
        pass
    time.sleep(0.2)
sys.exit(1)
EOF
}

# stop_pid PID [NAME]: TERM a process we started, wait up to 10 s, then KILL it.
stop_pid() {
    local pid="$1" name="${2:-process}"
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        warn "$name (pid $pid) did not stop after SIGTERM; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# descendants PID: print the pids of all descendants of PID (children first level first).
descendants() {
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        echo "$child"
        descendants "$child"
    done
}

# stop_tree PID [NAME]: stop a process we started and everything it started (TERM, then KILL).
stop_tree() {
    local pid="$1" name="${2:-process}" kids p
    [ -n "$pid" ] || return 0
    kids="$(descendants "$pid")"
    stop_pid "$pid" "$name"
    for p in $kids; do
        kill -TERM "$p" 2>/dev/null || true
    done
    sleep 0.5
    for p in $kids; do
        kill -KILL "$p" 2>/dev/null || true
    done
}

# dev_secret: prints the local HS256 secret, generated once into .local/dev-secret (mode 600). The
# one secret of scripts/dev and scripts/lambda, so a token minted for one works with the other.
dev_secret() {
    local file="$REPO_ROOT/.local/dev-secret"
    if [ ! -s "$file" ]; then
        mkdir -p "$REPO_ROOT/.local"
        (umask 077 && python3 -c 'import secrets; print(secrets.token_hex(32))' >"$file")
        log "generated a development JWT secret in .local/dev-secret"
    fi
    chmod 600 "$file"
    cat "$file"
}
