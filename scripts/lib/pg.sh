# shellcheck shell=bash
# PostgreSQL cluster helpers for scripts/test, scripts/dev and bench/run. Source it (after common.sh).
#
#   pg_start DIR [--ssl] [--persistent] [--port N]
#       Initialise (once) and start a cluster whose files all live under DIR:
#         DIR/data          PGDATA            DIR/postgres.log   server log
#         DIR/sock          Unix socket dir   DIR/tls/           CA + server cert (with --ssl)
#       An already initialised DIR/data is reused; a cluster already running there is reused too
#       (and then not stopped by pg_stop). Without --persistent the cluster gets throw-away settings
#       (fsync=off, synchronous_commit=off, full_page_writes=off). Always: listen_addresses=127.0.0.1,
#       a free port (or --port N), max_connections=300, pg_stat_statements preloaded with track=all,
#       pg_hba "trust" for local and 127.0.0.1/::1 (plain and TLS). --ssl generates a throw-away CA and
#       a server certificate for DNS:localhost and IP:127.0.0.1 with openssl and turns ssl on.
#       Sets: PG_DIR PG_DATA PG_PORT PG_HOST PG_SOCKET_DIR PG_LOG PG_CA_FILE (with --ssl) PG_STARTED.
#   pg_stop           Stop the cluster pg_start started (pg_ctl stop -m fast); a no-op otherwise.
#   pg_url [DB] [QUERY]   postgres://postgres@127.0.0.1:PORT/DB?QUERY (default postgres, sslmode=disable)
#   pg_psql DB ARGS...    psql against the cluster over TCP, ON_ERROR_STOP=1.
#   pg_create_db NAME     CREATE DATABASE NAME unless it exists.
#
# As root, initdb/postgres refuse to run: every server-side command runs as the `postgres` OS user
# (runuser) and DIR is chown'ed to it. As any other user they run directly.

PG_SUPERUSER="postgres"
PG_HOST="127.0.0.1"
PG_STARTED=0
PG_DIR=""
PG_DATA=""
PG_PORT=""
PG_SOCKET_DIR=""
PG_SOCKET_TMP=""
PG_LOG=""
PG_CA_FILE=""

# pg_find_bin: set PG_BIN to the directory holding initdb/pg_ctl/postgres.
pg_find_bin() {
    if [ -n "${PG_BIN:-}" ]; then
        [ -x "$PG_BIN/initdb" ] || die "PG_BIN=$PG_BIN has no initdb"
        return 0
    fi
    local d best=""
    # Highest installed major version wins (sort -V: 9.6 < 15 < 16).
    while IFS= read -r d; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then best="$d"; fi
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
    if [ -z "$best" ] && command -v initdb >/dev/null 2>&1; then
        best="$(dirname "$(command -v initdb)")"
    fi
    [ -n "$best" ] || die "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; install the Debian package postgresql (or set PG_BIN)"
    PG_BIN="$best"
}

# Run a server-side command as the cluster owner (postgres when we are root), from a directory it can read.
_pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

_pg_chown() {
    if [ "$(id -u)" = 0 ]; then
        chown -R postgres:postgres "$@"
    fi
}

# _pg_make_tls DIR: throw-away CA + server certificate (EC P-256) for localhost / 127.0.0.1.
_pg_make_tls() {
    local tls="$1"
    require_cmd openssl "needed to generate the throw-away TLS certificates"
    mkdir -p "$tls"
    if [ -s "$tls/ca.pem" ] && [ -s "$tls/server.pem" ] && [ -s "$tls/server.key" ] &&
        openssl x509 -checkend 86400 -noout -in "$tls/server.pem" >/dev/null 2>&1; then
        return 0
    fi
    cat >"$tls/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = smart-todo throw-away test CA
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
EOF
    cat >"$tls/server.ext" <<'EOF'
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
EOF
    (
        set -e
        umask 077
        openssl req -x509 -new -config "$tls/ca.cnf" -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
            -nodes -keyout "$tls/ca.key" -out "$tls/ca.pem" -days 30 -sha256
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$tls/server.key" -out "$tls/server.csr" -subj "/CN=localhost" -sha256
        openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
            -set_serial "0x$(openssl rand -hex 16)" -days 30 -sha256 -extfile "$tls/server.ext" \
            -out "$tls/server.pem"
    ) >"$tls/openssl.log" 2>&1 || {
        cat "$tls/openssl.log" >&2
        die "generating the throw-away TLS certificates failed"
    }
    openssl verify -CAfile "$tls/ca.pem" "$tls/server.pem" >/dev/null ||
        die "the generated server certificate does not verify against its CA"
    chmod 644 "$tls/ca.pem" "$tls/server.pem"
    chmod 600 "$tls/server.key" "$tls/ca.key"
}

# _pg_write_conf: (re)write DIR/data/smart_todo.conf, included from postgresql.conf.
_pg_write_conf() {
    local persistent="$1" ssl="$2" conf="$PG_DATA/smart_todo.conf"
    {
        echo "# Written by scripts/lib/pg.sh at every start; edits are lost."
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $PG_PORT"
        echo "unix_socket_directories = '$PG_SOCKET_DIR'"
        echo "max_connections = 300"
        echo "shared_preload_libraries = 'pg_stat_statements'"
        echo "pg_stat_statements.track = all"
        echo "log_line_prefix = '%m [%p] %q%u@%d '"
        if [ "$persistent" = 0 ]; then
            echo "# throw-away cluster: durability off"
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
            echo "jit = off"
        fi
        if [ "$ssl" = 1 ]; then
            echo "ssl = on"
            echo "ssl_cert_file = '$PG_DIR/tls/server.pem'"
            echo "ssl_key_file = '$PG_DIR/tls/server.key'"
            echo "ssl_ca_file = '$PG_DIR/tls/ca.pem'"
        else
            echo "ssl = off"
        fi
    } >"$conf"
    _pg_chown "$conf"
    if ! grep -q "^include_if_exists = 'smart_todo.conf'" "$PG_DATA/postgresql.conf"; then
        printf "\ninclude_if_exists = 'smart_todo.conf'\n" >>"$PG_DATA/postgresql.conf"
    fi
    cat >"$PG_DATA/pg_hba.conf" <<'EOF'
# Written by scripts/lib/pg.sh: a local development / throw-away cluster, loopback only.
# "host" matches both plain and TLS connections.
local   all   all                  trust
host    all   all   127.0.0.1/32   trust
host    all   all   ::1/128        trust
EOF
    _pg_chown "$PG_DATA/pg_hba.conf"
}

pg_start() {
    local dir="" ssl=0 persistent=0 want_port=""
    while [ $# -gt 0 ]; do
        case "$1" in
        --ssl) ssl=1 ;;
        --persistent) persistent=1 ;;
        --port)
            want_port="$2"
            shift
            ;;
        -*) die "pg_start: unknown option $1" ;;
        *) dir="$1" ;;
        esac
        shift
    done
    [ -n "$dir" ] || die "pg_start: missing cluster directory"
    pg_find_bin
    require_cmd python3

    mkdir -p "$dir"
    PG_DIR="$(cd "$dir" && pwd)"
    PG_DATA="$PG_DIR/data"
    PG_LOG="$PG_DIR/postgres.log"
    PG_STARTED=0
    PG_CA_FILE=""

    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 ||
            die "running as root but there is no 'postgres' OS user to run the server (install the postgresql package or run as a normal user)"
        chown postgres:postgres "$PG_DIR"
        runuser -u postgres -- test -w "$PG_DIR" ||
            die "the postgres OS user cannot write $PG_DIR (a parent directory is not searchable by it?); choose a directory it can reach"
    fi

    # A cluster already running in this directory (e.g. a second scripts/dev): reuse it, don't stop it.
    if [ -f "$PG_DATA/PG_VERSION" ] && _pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
        PG_PORT="$(sed -n 4p "$PG_DATA/postmaster.pid")"
        PG_SOCKET_DIR="$(sed -n 5p "$PG_DATA/postmaster.pid")"
        [ -z "$want_port" ] || [ "$want_port" = "$PG_PORT" ] ||
            die "a cluster is already running in $PG_DATA on port $PG_PORT (wanted $want_port)"
        if [ "$ssl" = 1 ]; then
            PG_CA_FILE="$PG_DIR/tls/ca.pem"
            [ -f "$PG_CA_FILE" ] || die "the running cluster in $PG_DATA has no TLS CA at $PG_CA_FILE; stop it first"
        fi
        log "reusing the PostgreSQL cluster already running in $PG_DATA on port $PG_PORT"
        _pg_wait_ready
        return 0
    fi

    if [ ! -f "$PG_DATA/PG_VERSION" ]; then
        if [ -e "$PG_DATA" ] && [ -n "$(ls -A "$PG_DATA" 2>/dev/null)" ]; then
            die "$PG_DATA exists, is not empty and is not a PostgreSQL data directory; remove it"
        fi
        log "initialising a PostgreSQL cluster in $PG_DATA ($("$PG_BIN/postgres" --version))"
        local nosync=()
        [ "$persistent" = 1 ] || nosync=(--no-sync)
        if ! _pg_as_owner "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_SUPERUSER" -A trust -E UTF8 --locale=C \
            "${nosync[@]}" >"$PG_DIR/initdb.log" 2>&1; then
            cat "$PG_DIR/initdb.log" >&2
            die "initdb failed (log above, also in $PG_DIR/initdb.log)"
        fi
    fi

    if [ "$ssl" = 1 ]; then
        _pg_make_tls "$PG_DIR/tls"
        PG_CA_FILE="$PG_DIR/tls/ca.pem"
    fi

    PG_SOCKET_DIR="$PG_DIR/sock"
    # Unix socket paths are limited to 107 bytes: fall back to a short temporary directory.
    if [ $((${#PG_SOCKET_DIR} + 20)) -gt 100 ]; then
        PG_SOCKET_TMP="$(mktemp -d "${TMPDIR:-/tmp}/pgsock.XXXXXX")"
        PG_SOCKET_DIR="$PG_SOCKET_TMP"
    fi
    mkdir -p "$PG_SOCKET_DIR"
    _pg_chown "$PG_DIR" "$PG_SOCKET_DIR"

    local attempt
    for attempt in 1 2 3; do
        if [ -n "$want_port" ]; then
            PG_PORT="$want_port"
            port_is_free "$PG_PORT" || die "port $PG_PORT on 127.0.0.1 is already in use"
        else
            PG_PORT="$(free_port)"
        fi
        _pg_write_conf "$persistent" "$ssl"
        : >"$PG_LOG"
        _pg_chown "$PG_LOG"
        PG_STARTED=1
        if _pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -s start >/dev/null 2>&1; then
            _pg_wait_ready
            log "PostgreSQL running on 127.0.0.1:$PG_PORT (data $PG_DATA$([ "$ssl" = 1 ] && echo ", TLS on, CA $PG_CA_FILE"))"
            return 0
        fi
        PG_STARTED=0
        if [ -z "$want_port" ] && grep -q "could not bind\|Address already in use" "$PG_LOG" && [ "$attempt" -lt 3 ]; then
            warn "port $PG_PORT was taken meanwhile; retrying with another one"
            continue
        fi
        break
    done
    echo "---- $PG_LOG ----" >&2
    tail -n 30 "$PG_LOG" >&2 || true
    die "PostgreSQL failed to start in $PG_DATA (log above)"
}

_pg_wait_ready() {
    for _ in $(seq 1 300); do
        if "$PG_BIN/pg_isready" -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres -t 1; then
            return 0
        fi
        sleep 0.1
    done
    tail -n 30 "$PG_LOG" >&2 || true
    die "PostgreSQL on 127.0.0.1:$PG_PORT is not accepting connections after 30 s"
}

pg_stop() {
    if [ "${PG_STARTED:-0}" = 1 ] && [ -n "$PG_DATA" ]; then
        PG_STARTED=0
        if ! _pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 -s stop >/dev/null 2>&1; then
            warn "pg_ctl stop -m fast failed; trying -m immediate"
            _pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 -s stop >/dev/null 2>&1 ||
                warn "could not stop PostgreSQL in $PG_DATA"
        fi
    fi
    if [ -n "$PG_SOCKET_TMP" ]; then
        rm -rf "$PG_SOCKET_TMP"
        PG_SOCKET_TMP=""
    fi
}

pg_url() {
    local db="${1:-postgres}" query="${2:-sslmode=disable}"
    printf 'postgres://%s@%s:%s/%s%s\n' "$PG_SUPERUSER" "$PG_HOST" "$PG_PORT" "$db" "${query:+?$query}"
}

pg_psql() {
    local db="$1"
    shift
    PGSSLMODE=disable psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_SUPERUSER" -d "$db" "$@"
}

pg_create_db() {
    local name="$1"
    if [ "$(pg_psql postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'")" != 1 ]; then
        pg_psql postgres -c "CREATE DATABASE \"$name\""
    fi
}
