# shellcheck shell=bash
# moto_server (AWS fake, from PyPI moto[server] in the test venv) on a free loopback port.
# Source it (after common.sh and venv.sh; call venv_setup first).
#
#   moto_start DIR   Start moto_server on 127.0.0.1:<free port>, log to DIR/moto.log, wait until it
#                    answers. Sets MOTO_PID, MOTO_PORT, MOTO_ENDPOINT_URL.
#   moto_stop        Stop it (no-op when not started).

MOTO_PID=""
MOTO_PORT=""
MOTO_ENDPOINT_URL="${MOTO_ENDPOINT_URL:-}"

moto_start() {
    local dir="$1"
    local bin="$VENV_DIR/bin/moto_server"
    [ -x "$bin" ] || die "moto_server not found in $VENV_DIR (is moto[server] in scripts/requirements-test.txt?)"
    mkdir -p "$dir"
    local attempt
    for attempt in 1 2 3; do
        MOTO_PORT="$(free_port)"
        "$bin" -H 127.0.0.1 -p "$MOTO_PORT" >"$dir/moto.log" 2>&1 &
        MOTO_PID=$!
        if wait_http "http://127.0.0.1:$MOTO_PORT/moto-api/" 60 "$MOTO_PID"; then
            MOTO_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
            log "moto_server running at $MOTO_ENDPOINT_URL (pid $MOTO_PID)"
            return 0
        fi
        stop_pid "$MOTO_PID" moto_server
        MOTO_PID=""
        if grep -q "Address already in use" "$dir/moto.log" && [ "$attempt" -lt 3 ]; then
            warn "port $MOTO_PORT was taken meanwhile; retrying with another one"
            continue
        fi
        break
    done
    tail -n 30 "$dir/moto.log" >&2 || true
    die "moto_server did not start (log above)"
}

moto_stop() {
    if [ -n "$MOTO_PID" ]; then
        stop_pid "$MOTO_PID" moto_server
        MOTO_PID=""
    fi
}
