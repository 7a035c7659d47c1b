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
GATEWAY_PID=
cleanup() {
  if [ -n "$GATEWAY_PID" ]; then
    kill "$GATEWAY_PID" 2>/dev/null || true
    wait "$GATEWAY_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT

step() { printf '\n--- fuzz: %s (%ss)\n' "$1" "$SECONDS"; }

step "schemathesis $SCHEMATHESIS_VERSION in $WORK/venv"
[ -x "$WORK/venv/bin/st" ] || {
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
}

step "start the built gateway (embedded database and store)"
[ -f dist/apps/gateway/src/main.js ] || { echo "dist/ is missing: run npm run build first" >&2; exit 1; }
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BOOTSTRAP_KEY="xr-fuzz-bootstrap-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
URL="http://127.0.0.1:$PORT"
rm -rf "$WORK/data"
env -u DATABASE_URL -u DATABASE_READ_URL -u REDIS_URL \
  -u GIGACHAT_AUTH_KEY -u YANDEX_API_KEY -u YANDEX_FOLDER_ID -u MTS_API_KEY -u TBANK_API_KEY \
  DATA_DIR="$WORK/data" ADMIN_API_KEY="$BOOTSTRAP_KEY" RATE_LIMIT_RPS=0 HOST=127.0.0.1 PORT="$PORT" LOG_LEVEL=error \
  node dist/apps/gateway/src/main.js >"$WORK/gateway.log" 2>&1 &
GATEWAY_PID=$!
for _ in $(seq 300); do
  curl -fs "$URL/health/live" >/dev/null 2>&1 && break
  kill -0 "$GATEWAY_PID" 2>/dev/null || { cat "$WORK/gateway.log" >&2; exit 1; }
  sleep 0.1
done

step "a throwaway admin user and key for the run"
api() {
  curl -fsS -X "$1" "$URL$2" -H "authorization: Bearer $BOOTSTRAP_KEY" -H 'content-type: application/json' -d "$3"
}
json() { python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
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
status=0
step "schemathesis: no server errors, responses as documented ($MAX_EXAMPLES cases per operation, ${MAX_TIME}s)"
fuzz --max-time "$MAX_TIME" --exclude-operation-id-regex "$DESTRUCTIVE" || status=$?
step "schemathesis: the operations that revoke, rotate or disable"
fuzz --max-time 30 --include-operation-id-regex "$DESTRUCTIVE" || status=$?

if grep -q '"level":50' "$WORK/gateway.log"; then
  echo "the gateway logged errors during the run:" >&2
  grep '"level":50' "$WORK/gateway.log" | head -n 20 >&2
  status=1
fi
exit "$status"
