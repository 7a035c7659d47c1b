#!/usr/bin/env bash
# Drives the built gateway's Responses API with the official Python `openai` client (test/python/), as a Python
# user of XRouter would. The gateway runs on the embedded default (PGlite + in-process store, the bundled emulators)
# in a fresh data directory; two throwaway users with a key each are made with the bootstrap key.
# Usage: scripts/python-client.sh [WORK_DIR]   (after npm run build; needs python3 with venv and PyPI)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

OPENAI_VERSION=3.51.0

WORK=${1:-$(mktemp -d /tmp/xrouter-python.XXXXXX)}
mkdir -p "$WORK"
GATEWAY_PID=
cleanup() {
  if [ -n "$GATEWAY_PID" ]; then
    kill "$GATEWAY_PID" 2>/dev/null || true
    wait "$GATEWAY_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT

step() { printf '\n--- python client: %s (%ss)\n' "$1" "$SECONDS"; }

step "openai $OPENAI_VERSION in $WORK/venv"
[ -x "$WORK/venv/bin/python" ] && "$WORK/venv/bin/python" -c "import openai; assert openai.__version__ == '$OPENAI_VERSION'" 2>/dev/null || {
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install --quiet --disable-pip-version-check "openai==$OPENAI_VERSION"
}

step "start the built gateway (embedded database and store)"
[ -f dist/apps/gateway/src/main.js ] || { echo "dist/ is missing: run npm run build first" >&2; exit 1; }
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BOOTSTRAP_KEY="xr-python-bootstrap-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
URL="http://127.0.0.1:$PORT"
rm -rf "$WORK/data"
env -u DATABASE_URL -u DATABASE_READ_URL -u REDIS_URL \
  -u GIGACHAT_AUTH_KEY -u YANDEX_API_KEY -u YANDEX_FOLDER_ID -u MTS_API_KEY -u TBANK_API_KEY \
  DATA_DIR="$WORK/data" ADMIN_API_KEY="$BOOTSTRAP_KEY" HOST=127.0.0.1 PORT="$PORT" LOG_LEVEL=error \
  node dist/apps/gateway/src/main.js >"$WORK/gateway.log" 2>&1 &
GATEWAY_PID=$!
for _ in $(seq 300); do
  curl -fs "$URL/health/live" >/dev/null 2>&1 && break
  kill -0 "$GATEWAY_PID" 2>/dev/null || { cat "$WORK/gateway.log" >&2; exit 1; }
  sleep 0.1
done

step "two throwaway users with a key each"
api() {
  curl -fsS -X "$1" "$URL$2" -H "authorization: Bearer $BOOTSTRAP_KEY" -H 'content-type: application/json' -d "$3"
}
json() { python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
key_of() {
  local id
  id=$(api POST /admin/users "{\"email\":\"$1@example.com\",\"role\":\"user\"}" | json id)
  api POST /admin/api-keys "{\"name\":\"$1\",\"user_id\":\"$id\"}" | json key
}
XROUTER_KEY=$(key_of python-client)
XROUTER_OTHER_KEY=$(key_of python-stranger)

step "test/python with the official client"
status=0
XROUTER_URL="$URL" XROUTER_KEY="$XROUTER_KEY" XROUTER_OTHER_KEY="$XROUTER_OTHER_KEY" \
  "$WORK/venv/bin/python" -m unittest discover -s "$ROOT/test/python" -p 'test_*.py' -v || status=$?

if grep -q '"level":50' "$WORK/gateway.log"; then
  echo "the gateway logged errors during the run:" >&2
  grep '"level":50' "$WORK/gateway.log" | head -n 20 >&2
  status=1
fi
exit "$status"
