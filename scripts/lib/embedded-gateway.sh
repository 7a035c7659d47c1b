# Sourced by the scripts that drive the built gateway from Python tools (fuzz-api.sh, python-client.sh): a venv with
# one pinned package, the gateway on the embedded default (PGlite + in-process store, the bundled emulators) in a
# fresh data directory with a random bootstrap key, the admin API over curl, and the check that the gateway logged
# no errors. Expects WORK (a directory) and STEP_NAME (for the progress lines); stops the gateway on exit.
GATEWAY_PID=
stop_gateway() {
  if [ -n "$GATEWAY_PID" ]; then
    kill "$GATEWAY_PID" 2>/dev/null || true
    wait "$GATEWAY_PID" 2>/dev/null || true
  fi
}
trap stop_gateway EXIT

step() { printf '\n--- %s: %s (%ss)\n' "$STEP_NAME" "$1" "$SECONDS"; }

# python_venv PACKAGE==VERSION: $WORK/venv with it installed (kept when it already has that version).
python_venv() {
  local name=${1%%==*} version=${1##*==}
  step "$name $version in $WORK/venv"
  "$WORK/venv/bin/python" -c "import importlib.metadata as m; assert m.version('$name') == '$version'" 2>/dev/null || {
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install --quiet --disable-pip-version-check "$1"
  }
}

# start_gateway [NAME=VALUE ...]: the built gateway on a free port; sets URL and BOOTSTRAP_KEY.
start_gateway() {
  step "start the built gateway (embedded database and store)"
  [ -f dist/apps/gateway/src/main.js ] || { echo "dist/ is missing: run npm run build first" >&2; exit 1; }
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  BOOTSTRAP_KEY="xr-$STEP_NAME-bootstrap-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  URL="http://127.0.0.1:$port"
  rm -rf "$WORK/data"
  env -u DATABASE_URL -u DATABASE_READ_URL -u REDIS_URL \
    -u GIGACHAT_AUTH_KEY -u YANDEX_API_KEY -u YANDEX_FOLDER_ID -u MTS_API_KEY -u TBANK_API_KEY \
    DATA_DIR="$WORK/data" ADMIN_API_KEY="$BOOTSTRAP_KEY" HOST=127.0.0.1 PORT="$port" LOG_LEVEL=error "$@" \
    node dist/apps/gateway/src/main.js >"$WORK/gateway.log" 2>&1 &
  GATEWAY_PID=$!
  for _ in $(seq 300); do
    curl -fs "$URL/health/live" >/dev/null 2>&1 && return 0
    kill -0 "$GATEWAY_PID" 2>/dev/null || { cat "$WORK/gateway.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "the gateway did not become live" >&2
  exit 1
}

# api METHOD PATH JSON: one admin call with the bootstrap key; json FIELD: that field of the JSON on stdin.
api() {
  curl -fsS -X "$1" "$URL$2" -H "authorization: Bearer $BOOTSTRAP_KEY" -H 'content-type: application/json' -d "$3"
}
json() { python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }

# no_gateway_errors: fails when the gateway logged anything at error level.
no_gateway_errors() {
  if grep -q '"level":50' "$WORK/gateway.log"; then
    echo "the gateway logged errors during the run:" >&2
    grep '"level":50' "$WORK/gateway.log" | head -n 20 >&2
    return 1
  fi
}
