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
. "$ROOT/scripts/lib/serve.sh"

[ -n "${TEST_DATABASE_URL:-}" ] || die "TEST_DATABASE_URL is not set (a superuser URL of a PostgreSQL server)"
export FRONTEND_DIR="$ROOT/frontend/dist"
[ -f "$FRONTEND_DIR/index.html" ] || die "$FRONTEND_DIR/index.html not found: npm --prefix frontend run build"
require_cmd node
require_cmd psql "Debian package postgresql-client"
TMP_DIR="${E2E_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/smart-todo-e2e.XXXXXX")}"

# The same fresh-database server every protocol client of scripts/test uses; run.mjs reads SERVE_URL.
# The browser signs in through the local sign-in screen: `serve --dev`.
SERVE_DEV=1 serve_on_fresh_db e2e node "$ROOT/frontend/e2e/run.mjs"
