#!/usr/bin/env bash
# Fuzzes the built gateway's HTTP API with schemathesis, from its own OpenAPI document (/docs-json): every response
# must be something other than a 5xx and match its documented schema. The gateway runs on the embedded default
# (PGlite + in-process store) in a fresh data directory; the run uses a throwaway admin key created first, never the
# bootstrap one. Bounded: at most FUZZ_MAX_EXAMPLES cases per operation, FUZZ_MAX_TIME seconds (+ 30 s) in all.
# Usage: scripts/fuzz-api.sh [WORK_DIR]   (after npm run build; needs python3 with venv and PyPI)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-25}
MAX_TIME=${FUZZ_MAX_TIME:-180}

WORK=${1:-$(mktemp -d /tmp/xrouter-fuzz.XXXXXX)}
mkdir -p "$WORK"
STEP_NAME=fuzz
# shellcheck source=lib/embedded-gateway.sh
source scripts/lib/embedded-gateway.sh
python_venv "schemathesis==$SCHEMATHESIS_VERSION"
start_gateway RATE_LIMIT_RPS=0

step "a throwaway admin user and key for the run"
ADMIN_ID=$(api POST /admin/users '{"email":"fuzz-admin@example.com","role":"admin","name":"fuzz"}' | json id)
FUZZ_KEY=$(api POST /admin/api-keys "{\"name\":\"fuzz\",\"user_id\":\"$ADMIN_ID\"}" | json key)

# Schemathesis reuses ids it saw in responses (GET /account/api-keys lists the run's own key), so the operations
# that end a credential (revoke, rotate, disable a user) would cut the run's key early and leave the rest of the
# operations answering 401. They are fuzzed last, in a run of their own. No stateful phase (its links do the same).
DESTRUCTIVE='^(AdminApiKeysController_(revoke|rotate)|AccountApiKeysController_(revoke|rotate)|UsersController_disable)$'
# Run from the work directory: schemathesis leaves its state (.schemathesis/) in the current one.
fuzz() {
  (cd "$WORK" && "$WORK/venv/bin/st" run "$URL/docs-json" \
    --url "$URL" \
    --header "Authorization: Bearer $FUZZ_KEY" \
    --checks not_a_server_error,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "$MAX_EXAMPLES" \
    --request-timeout 10 \
    --workers 2 \
    --generation-database none \
    --no-color \
    "$@")
}
# A pass that failed only because schemathesis itself crashed while generating data (a "Runtime Error" such as
# CPython 3.11's "AST constructor recursion depth mismatch" inside hypothesis), with no failed check, is run once
# more; a failed check — a 5xx or an undocumented response — fails the run at once.
fuzz_pass() {
  local out="$WORK/pass.log" code=0
  fuzz "$@" 2>&1 | tee "$out" || code=${PIPESTATUS[0]}
  if [ "$code" -ne 0 ] && grep -q 'Runtime Error' "$out" && ! grep -q 'FAILURES' "$out"; then
    step "schemathesis crashed without a failed check: running the pass once more"
    code=0
    fuzz "$@" || code=$?
  fi
  return "$code"
}
status=0
step "schemathesis: no server errors, responses as documented ($MAX_EXAMPLES cases per operation, ${MAX_TIME}s)"
fuzz_pass --max-time "$MAX_TIME" --exclude-operation-id-regex "$DESTRUCTIVE" || status=$?
step "schemathesis: the operations that revoke, rotate or disable"
fuzz_pass --max-time 30 --include-operation-id-regex "$DESTRUCTIVE" || status=$?

no_gateway_errors || status=1
exit "$status"
