#!/usr/bin/env bash
# Sets up what is missing, then runs every test: unit and integration tests on SQLite (and on
# PostgreSQL when BILLETIX_TEST_POSTGRES_URL is set), then the browser tests in headless
# Chromium against the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --browser
source scripts/env.sh

# Test databases (SQLite files, browser profiles) go to a folder removed at the end.
TMPDIR=$(mktemp -d)
export TMPDIR
cleanup() {
  rm -rf "$TMPDIR"
  # Each PostgreSQL test made its own schema `test_…`; drop them, one transaction each.
  if [ -n "${BILLETIX_TEST_POSTGRES_URL:-}" ] && command -v psql >/dev/null; then
    psql -tA "$BILLETIX_TEST_POSTGRES_URL" \
      -c "SELECT format('DROP SCHEMA %I CASCADE;', nspname) FROM pg_namespace WHERE nspname LIKE 'test\_%'" 2>/dev/null |
      PGOPTIONS='-c client_min_messages=warning' psql -q "$BILLETIX_TEST_POSTGRES_URL" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

if [ -z "${BILLETIX_TEST_POSTGRES_URL:-}" ]; then
  echo "note: BILLETIX_TEST_POSTGRES_URL is not set; the PostgreSQL half of each test says it is skipped"
fi

printf '\n== unit and integration tests\n'
cargo test --no-fail-fast # the default members: app, app/core (billetix-core) and server
cargo test --no-fail-fast -p decoder # not a default member: built on its own, without Leptos

printf '\n== release build for the browser tests\n'
scripts/build-decoder.sh # into public/, copied into the site by the build
cargo leptos build --release

printf '\n== browser tests (headless Chromium)\n'
npm test --prefix end2end
