#!/usr/bin/env bash
# The OpenAPI document is the truth: schemathesis generates requests from /api/openapi.json (valid
# and invalid ones, single calls and stateful sequences) against a running server with a valid token
# and checks every answer (every check schemathesis has, each on by default: documented status codes,
# schema-valid requests accepted, schema-violating ones refused, response schemas, no 5xx; the one
# per-operation exception, and why, is in schemathesis.toml beside this file). Fixed seed and
# bounded examples, so a run is repeatable and takes well under a minute.
#
# Environment (from scripts/lib/serve.sh's serve_on_fresh_db): SERVE_URL, ALICE_TOKEN;
# SCHEMATHESIS (the executable).
set -euo pipefail
: "${SERVE_URL:?}" "${ALICE_TOKEN:?}" "${SCHEMATHESIS:?}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
rc=0
"$SCHEMATHESIS" --config-file "$(dirname "$0")/schemathesis.toml" run "$SERVE_URL/api/openapi.json" \
    --header "Authorization: Bearer $ALICE_TOKEN" \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-60}" \
    --seed "${SCHEMATHESIS_SEED:-1}" \
    --no-color >"$out" 2>&1 || rc=$?
cat "$out"
# Its summary line ("N generated, N passed, N skipped"), restated in the form the CI reads.
summary="$(grep -E '[0-9]+ generated' "$out" | tail -n 1 || true)"
passed="$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$summary")"
failed="$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$summary")"
echo "schemathesis: ${passed:-0} passed, ${failed:-$([ "$rc" = 0 ] && echo 0 || echo 1)} failed"
exit "$rc"
