#!/usr/bin/env bash
# System packages the test suite drives as real processes: PostgreSQL, Redis, nginx (the multi-replica test) and
# Chromium (the Swagger UI browser test). Installs whatever is missing with apt-get (as root); otherwise says what to
# install. Fast when everything is there.
set -euo pipefail
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v chromium >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "The tests need these system packages: ${missing[*]} (install them, e.g. with apt-get)" >&2
  exit 1
fi
echo "Installing system packages for the tests: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
