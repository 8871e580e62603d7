# shellcheck shell=bash
# Fault injection for the chat-faults layer of scripts/test: stop and start again the throw-away
# PostgreSQL cluster that pg.sh's pg_start started. Self-contained (it defines functions only and needs
# no other file) so that a test can call it from a child shell:
#
#   bash -c '. "$FAULT_HELPER" && fault_pg_restart 1' fault-restart
#
#   fault_pg_export          (in scripts/test, after pg_start) export FAULT_HELPER (this file) and
#                            FAULT_PG_BIN FAULT_PG_DATA FAULT_PG_LOG FAULT_PG_HOST FAULT_PG_PORT
#                            from pg.sh's PG_* variables, for a child process.
#   fault_pg_restart [S]     pg_ctl stop -m fast (-m immediate if that fails), keep the cluster down
#                            S seconds (default 1), pg_ctl start, wait until it accepts connections.
#   fault_pg_ensure_up [S]   start the cluster if it is down; wait up to S seconds (default 30) until
#                            it accepts connections. Returns non-zero if it does not.
#
# As root the server runs as the `postgres` OS user (runuser, from /, like pg.sh); otherwise directly.
# The cluster keeps its data directory, port and log: pg.sh's pg_stop still stops it afterwards.

_fault_as_owner() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

_fault_pg_need() {
    local v
    for v in FAULT_PG_BIN FAULT_PG_DATA FAULT_PG_LOG FAULT_PG_HOST FAULT_PG_PORT; do
        if [ -z "${!v:-}" ]; then
            echo "fault.sh: $v is not set (fault_pg_export in the parent)" >&2
            return 1
        fi
    done
}

fault_pg_export() {
    [ -n "${PG_DATA:-}" ] && [ -n "${PG_PORT:-}" ] && [ -n "${PG_BIN:-}" ] || {
        echo "fault.sh: no cluster started by pg_start (PG_DATA/PG_PORT/PG_BIN unset)" >&2
        return 1
    }
    export FAULT_HELPER="${BASH_SOURCE[0]}"
    export FAULT_PG_BIN="$PG_BIN" FAULT_PG_DATA="$PG_DATA" FAULT_PG_LOG="$PG_LOG"
    export FAULT_PG_HOST="${PG_HOST:-127.0.0.1}" FAULT_PG_PORT="$PG_PORT"
}

# fault_pg_wait_ready S: wait up to S seconds until the cluster accepts connections.
fault_pg_wait_ready() {
    local deadline=$((SECONDS + ${1:-30}))
    while [ "$SECONDS" -le "$deadline" ]; do
        if "$FAULT_PG_BIN/pg_isready" -q -h "$FAULT_PG_HOST" -p "$FAULT_PG_PORT" -U postgres -d postgres -t 1; then
            return 0
        fi
        sleep 0.1
    done
    echo "fault.sh: PostgreSQL on $FAULT_PG_HOST:$FAULT_PG_PORT does not accept connections" >&2
    return 1
}

fault_pg_restart() {
    local down="${1:-1}"
    _fault_pg_need || return 1
    if ! _fault_as_owner "$FAULT_PG_BIN/pg_ctl" -D "$FAULT_PG_DATA" -m fast -w -t 30 -s stop >&2; then
        echo "fault.sh: pg_ctl stop -m fast failed; trying -m immediate" >&2
        _fault_as_owner "$FAULT_PG_BIN/pg_ctl" -D "$FAULT_PG_DATA" -m immediate -w -t 30 -s stop >&2 ||
            return 1
    fi
    sleep "$down"
    _fault_as_owner "$FAULT_PG_BIN/pg_ctl" -D "$FAULT_PG_DATA" -l "$FAULT_PG_LOG" -w -t 60 -s start \
        >/dev/null || {
        echo "fault.sh: pg_ctl start failed; last lines of $FAULT_PG_LOG:" >&2
        tail -n 20 "$FAULT_PG_LOG" >&2 || true
        return 1
    }
    fault_pg_wait_ready 30
}

fault_pg_ensure_up() {
    _fault_pg_need || return 1
    if ! _fault_as_owner "$FAULT_PG_BIN/pg_ctl" -D "$FAULT_PG_DATA" status >/dev/null 2>&1; then
        echo "fault.sh: PostgreSQL in $FAULT_PG_DATA is down; starting it again" >&2
        _fault_as_owner "$FAULT_PG_BIN/pg_ctl" -D "$FAULT_PG_DATA" -l "$FAULT_PG_LOG" -w -t 60 -s start \
            >/dev/null || return 1
    fi
    fault_pg_wait_ready "${1:-30}"
}
