# shellcheck shell=bash
# Sourced by scripts/test: run a protocol client against a real `smart-todo serve`.
# Needs common.sh (free_port, wait_http, stop_pid, log, warn, die), ROOT, TMP_DIR and TEST_DATABASE_URL.

# serve_on_fresh_db TAG CMD [ARGS...]: run CMD against `smart-todo serve` (target/debug, or
# $SMART_TODO_BIN) on a free
# loopback port over a fresh, migrated database of the test cluster, with a random AUTH_JWT_SECRET
# and no model key (the offline assistant). CMD gets SERVE_URL (http://127.0.0.1:PORT), ALICE_TOKEN
# and BOB_TOKEN (`smart-todo token`) in its environment, and SERVE_BIN (the binary, to mint tokens for
# other users). The server is stopped and the database
# dropped however it ends; on failure the tail of the server log is shown. Returns CMD's status.
# Run it as the child `run` waits for (`run serve_on_fresh_db ...`), or as the last thing a script
# does: it sets traps and exports. An exported FRONTEND_DIR is served too; SERVE_DEV=1 adds --dev;
# SERVE_DB_PORT=PORT has serve (only serve) reach the database through that port of 127.0.0.1.
serve_on_fresh_db() {
    local tag="$1"
    shift
    # Not `local`: the EXIT trap reads them after the function has returned.
    _sofd_bin="${SMART_TODO_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/smart-todo}"
    _sofd_log="$TMP_DIR/$tag-serve.log"
    _sofd_db="${tag}_$$_$RANDOM"
    _sofd_pid=""
    # shellcheck disable=SC2317,SC2329 # invoked by the EXIT trap
    _sofd_stop() {
        if [ -n "$_sofd_pid" ]; then stop_pid "$_sofd_pid" "smart-todo serve"; fi
        psql -X -q "$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $_sofd_db" >/dev/null 2>&1 || true
    }
    trap _sofd_stop EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT

    [ -x "$_sofd_bin" ] || die "$_sofd_bin is missing (cargo build -p smart-todo-cli)"
    psql -X -q -v ON_ERROR_STOP=1 "$TEST_DATABASE_URL" -c "CREATE DATABASE $_sofd_db" >/dev/null
    DATABASE_URL="$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' \
        "$TEST_DATABASE_URL" "$_sofd_db")"
    AUTH_JWT_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
    export DATABASE_URL AUTH_JWT_SECRET HOST=127.0.0.1 CHAT_ENGINE=offline
    # Protocol clients send turns faster than a person: lift the per-user chat limits (the Rust
    # tests cover them) unless the caller set them.
    export LIMIT_CHAT_TURNS_PER_MINUTE="${LIMIT_CHAT_TURNS_PER_MINUTE:-100000}"
    export LIMIT_CHAT_TURNS_PER_DAY="${LIMIT_CHAT_TURNS_PER_DAY:-1000000}"
    export LIMIT_WRITES_PER_MINUTE="${LIMIT_WRITES_PER_MINUTE:-100000}"
    unset OPENAI_API_KEY OPENAI_BASE_URL OPENAI_MODEL AUTH_JWKS_URL AUTH_ISSUER AUTH_AUDIENCE APP_SECRET_ARN
    "$_sofd_bin" migrate >/dev/null

    local port rc=0
    port="$(free_port)"
    local dev=()
    # SERVE_DEV=1: local sign-in (POST /dev/token), which only `serve --dev` on loopback offers.
    if [ "${SERVE_DEV:-0}" = 1 ]; then dev=(--dev); fi
    # SERVE_DB_PORT: serve reaches the same database through another port (a pooler in front of
    # the cluster); migrations above ran on the direct URL, as they must.
    local serve_db_url="$DATABASE_URL"
    if [ -n "${SERVE_DB_PORT:-}" ]; then
        serve_db_url="$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(netloc=p.netloc.rsplit(":", 1)[0] + ":" + sys.argv[2])))' \
            "$DATABASE_URL" "$SERVE_DB_PORT")"
    fi
    DATABASE_URL="$serve_db_url" "$_sofd_bin" serve --host 127.0.0.1 --port "$port" "${dev[@]}" >"$_sofd_log" 2>&1 &
    _sofd_pid=$!
    if ! wait_http "http://127.0.0.1:$port/api/health" 60 "$_sofd_pid"; then
        tail -n 30 "$_sofd_log" >&2 || true
        die "smart-todo serve did not come up on port $port (log above)"
    fi
    log "smart-todo serve (pid $_sofd_pid) on 127.0.0.1:$port, database $_sofd_db"

    SERVE_URL="http://127.0.0.1:$port" SERVE_PID="$_sofd_pid" SERVE_BIN="$_sofd_bin" \
        ALICE_TOKEN="$("$_sofd_bin" token --user alice)" \
        BOB_TOKEN="$("$_sofd_bin" token --user bob)" \
        "$@" || rc=$?
    if [ "$rc" != 0 ]; then
        warn "$tag checks failed (exit $rc); last lines of the server log $_sofd_log:"
        tail -n 30 "$_sofd_log" >&2 || true
    fi
    return "$rc"
}
