# shellcheck shell=bash
# Sourced by scripts/test: a real PgBouncer in transaction-pooling mode in front of the test cluster,
# the way Neon's `-pooler` endpoint (and most hosted poolers) sit in front of PostgreSQL.
# Needs common.sh and pg.sh (a started cluster: PG_HOST, PG_PORT, _pg_as_owner, _pg_chown).
#
#   pgbouncer_start DIR   start it; sets PGBOUNCER_PORT, PGBOUNCER_PID, PGBOUNCER_LOG
#   pgbouncer_url DB      postgres://postgres@127.0.0.1:PGBOUNCER_PORT/DB?sslmode=disable
#   pgbouncer_stop        stop it (a no-op when it is not running)
#
# Debian's package (1.18) predates protocol-level prepared statements in transaction mode: a
# statement prepared through it lives on one server connection and the next transaction may get
# another. It listens on 6432, PgBouncer's default port, when that is free: `DB_STATEMENT_CACHE=auto`
# recognises a pooler by that port, and the layer checks that it does.

PGBOUNCER_PID=""
PGBOUNCER_PORT=""

# pgbouncer_find: set PGBOUNCER_BIN, installing Debian's package when we may (root with apt-get).
pgbouncer_find() {
    PGBOUNCER_BIN="$(command -v pgbouncer || true)"
    [ -n "$PGBOUNCER_BIN" ] || [ ! -x /usr/sbin/pgbouncer ] || PGBOUNCER_BIN=/usr/sbin/pgbouncer
    if [ -z "$PGBOUNCER_BIN" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing Debian's pgbouncer (apt-get)"
        apt-get update -q >/dev/null
        # The package's service is not wanted (and there is no init here): only the binary.
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >/dev/null
        PGBOUNCER_BIN="$(command -v pgbouncer || echo /usr/sbin/pgbouncer)"
    fi
    [ -x "${PGBOUNCER_BIN:-}" ]
}

pgbouncer_start() {
    local dir="$1"
    pgbouncer_find || die "pgbouncer not found (Debian package pgbouncer)"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if port_is_free 6432; then
        PGBOUNCER_PORT=6432
    else
        PGBOUNCER_PORT="$(free_port)"
        warn "port 6432 is taken: PgBouncer listens on $PGBOUNCER_PORT, where DB_STATEMENT_CACHE=auto cannot recognise it"
    fi
    PGBOUNCER_LOG="$dir/pgbouncer.log"
    # Trust on loopback, as the test cluster itself does; the user must still be listed.
    printf '"%s" ""\n' "$PG_SUPERUSER" >"$dir/userlist.txt"
    cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=${PG_HOST} port=${PG_PORT}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${PGBOUNCER_PORT}
unix_socket_dir =
auth_type = trust
auth_file = ${dir}/userlist.txt
pool_mode = transaction
; Fewer server connections than the app's pool has clients, so transactions really move between
; server connections.
default_pool_size = 2
max_client_conn = 500
ignore_startup_parameters = extra_float_digits,options
logfile = ${PGBOUNCER_LOG}
pidfile = ${dir}/pgbouncer.pid
EOF
    _pg_chown "$dir"
    # PgBouncer refuses to run as root: it runs as the cluster's owner, in the foreground, as our child.
    # Its log goes to PGBOUNCER_LOG only (in the foreground it also copies it to stderr).
    if [ "$(id -u)" = 0 ]; then
        (cd / && exec runuser -u postgres -- "$PGBOUNCER_BIN" "$dir/pgbouncer.ini") >/dev/null 2>&1 &
    else
        "$PGBOUNCER_BIN" "$dir/pgbouncer.ini" >/dev/null 2>&1 &
    fi
    PGBOUNCER_PID=$!
    if ! wait_tcp 127.0.0.1 "$PGBOUNCER_PORT" 20 "$PGBOUNCER_PID"; then
        tail -n 20 "$PGBOUNCER_LOG" >&2 || true
        die "PgBouncer did not start on port $PGBOUNCER_PORT (log above)"
    fi
    log "PgBouncer $("$PGBOUNCER_BIN" --version | head -n 1) (pid $PGBOUNCER_PID), transaction mode, on 127.0.0.1:$PGBOUNCER_PORT"
}

pgbouncer_url() {
    printf 'postgres://%s@127.0.0.1:%s/%s?sslmode=disable\n' "$PG_SUPERUSER" "$PGBOUNCER_PORT" "${1:-postgres}"
}

pgbouncer_stop() {
    if [ -n "$PGBOUNCER_PID" ]; then
        stop_tree "$PGBOUNCER_PID" pgbouncer
        PGBOUNCER_PID=""
    fi
}
