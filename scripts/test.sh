#!/usr/bin/env bash
# Lint and type checks, then the whole test suite on SQLite and on a throwaway PostgreSQL server (`make test`).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

# Style and types first (settings in pyproject.toml): a failure stops here, before any server starts.
"$VENV/bin/ruff" check .
"$VENV/bin/mypy"

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/lib/chromium/chromium ] || [ -x /usr/bin/chromium ] || missing+=(chromium)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)  # PDF exports
[ -x /usr/sbin/clamd ] || missing+=(clamav-daemon)  # documents: the tests start their own clamd
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}…"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

pgdir=$(mktemp -d /tmp/himaya-pg.XXXXXX)
port=$(( 55000 + RANDOM % 900 ))
cleanup() { scripts/pg-throwaway stop "$pgdir"; rm -rf "$pgdir"; }
trap cleanup EXIT
export HIMAYA_TEST_PG_URL=$(scripts/pg-throwaway start "$pgdir" "$port")
export HIMAYA_TEST_REQUIRE_PG=1
export HIMAYA_TEST_REQUIRE_BROWSER=1
export HIMAYA_TEST_REQUIRE_CLAMAV=1
echo "PostgreSQL test server: $HIMAYA_TEST_PG_URL"
# One test process per core (HIMAYA_TEST_WORKERS=0 runs in this process): each has its own
# PostgreSQL database, clamd and temporary folders; an idle worker takes tests queued on the other.
"$VENV/bin/python" -m pytest -n "${HIMAYA_TEST_WORKERS:-auto}" --dist worksteal "$@"
