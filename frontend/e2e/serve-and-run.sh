#!/usr/bin/env bash
# Browser end-to-end test of the frontend against a real `smart-todo serve`: a fresh database from the
# test cluster, the offline assistant (no OpenAI key), the built frontend, a random signing secret.
# scripts/test (layer_frontend) calls it; by hand, after `npm run build` and `cargo build -p smart-todo-cli`:
#
#   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres frontend/e2e/serve-and-run.sh
#
# Environment: TEST_DATABASE_URL (superuser URL; a database is created and dropped), SMART_TODO_BIN
# (default target/debug/smart-todo), E2E_LOG_DIR (server log; default a temporary directory),
# E2E_SCREENSHOT_DIR (where run.mjs saves screenshots; e.g. docs/screenshots to refresh the README's).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/../..

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export REPO_ROOT="$ROOT" LOG_TAG="${LOG_TAG:-e2e}"
. "$ROOT/scripts/lib/common.sh"

[ -n "${TEST_DATABASE_URL:-}" ] || die "TEST_DATABASE_URL is not set (a superuser URL of a PostgreSQL server)"
BIN="${SMART_TODO_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/smart-todo}"
[ -x "$BIN" ] || die "$BIN not found: cargo build -p smart-todo-cli"
DIST="$ROOT/frontend/dist"
[ -f "$DIST/index.html" ] || die "$DIST/index.html not found: npm --prefix frontend run build"
require_cmd node
require_cmd psql "Debian package postgresql-client"

DB="smart_todo_e2e_$$_$RANDOM"
# The same server and credentials as TEST_DATABASE_URL, another database.
DB_URL="$(python3 - "$TEST_DATABASE_URL" "$DB" <<'EOF'
import sys
from urllib.parse import urlsplit, urlunsplit
u = urlsplit(sys.argv[1])
print(urlunsplit((u.scheme, u.netloc, "/" + sys.argv[2], u.query, u.fragment)))
EOF
)"
LOG_DIR="${E2E_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/smart-todo-e2e.XXXXXX")}"
SERVER_LOG="$LOG_DIR/e2e-server.log"
SERVER_PID=""
DB_CREATED=0

cleanup() {
    local rc=$?
    set +e
    if [ -n "$SERVER_PID" ]; then stop_pid "$SERVER_PID" "smart-todo serve"; fi
    if [ "$DB_CREATED" = 1 ]; then
        psql -X -q "$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 ||
            warn "could not drop database $DB"
    fi
    if [ "$rc" != 0 ] && [ -s "$SERVER_LOG" ]; then
        echo "---- last lines of $SERVER_LOG ----" >&2
        tail -n 40 "$SERVER_LOG" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

psql -X -q -v ON_ERROR_STOP=1 "$TEST_DATABASE_URL" -c "CREATE DATABASE \"$DB\"" >/dev/null
DB_CREATED=1

PORT="$(free_port)"
SECRET="$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
# Only what the server needs; no OpenAI key, so the offline assistant answers.
server_env=(
    env -u OPENAI_API_KEY -u OPENAI_BASE_URL -u OPENAI_MODEL -u APP_SECRET_ARN
    -u AUTH_JWKS_URL -u AUTH_ISSUER -u AUTH_AUDIENCE
    DATABASE_URL="$DB_URL" AUTH_JWT_SECRET="$SECRET" CHAT_ENGINE=offline
    HOST=127.0.0.1 PORT="$PORT" FRONTEND_DIR="$DIST" RUST_LOG="${RUST_LOG:-info}"
)
"${server_env[@]}" "$BIN" migrate >"$SERVER_LOG" 2>&1 || die "smart-todo migrate failed (see $SERVER_LOG)"
"${server_env[@]}" "$BIN" serve >>"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
rc=0
wait_http "http://127.0.0.1:$PORT/api/health" 60 "$SERVER_PID" || rc=$?
[ "$rc" = 0 ] || die "smart-todo serve did not become healthy (exit $rc)"
log "smart-todo serve on http://127.0.0.1:$PORT (database $DB, offline assistant)"

E2E_BASE_URL="http://127.0.0.1:$PORT" node "$ROOT/frontend/e2e/run.mjs"
