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
STEP_NAME=python
# shellcheck source=lib/embedded-gateway.sh
source scripts/lib/embedded-gateway.sh
python_venv "openai==$OPENAI_VERSION"
start_gateway

step "two throwaway users with a key each"
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

no_gateway_errors || status=1
exit "$status"
