#!/usr/bin/env bash
# The PgBouncer layer's checks, run by serve_on_fresh_db against a server whose database URL goes
# through the pooler: the ChatKit conformance session and a concurrent CRUD load side by side, so
# that transactions from several clients interleave on the pooler's two server connections.
# Usage: run.sh PYTHON
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="$1"
# The load works as users of its own: the conformance session compares alice's tasks before and after
# a retried turn, and a load writing as alice would change them under it.
ALICE_TOKEN="$("$SERVE_BIN" token --user load-carol)" BOB_TOKEN="$("$SERVE_BIN" token --user load-dave)" \
    "$python" "$here/load.py" &
load=$!
rc=0
"$python" "$here/../chatkit/conformance.py" || rc=$?
wait "$load" || rc=$?
exit "$rc"
