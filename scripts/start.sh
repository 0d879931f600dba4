#!/usr/bin/env bash
# Sets up what is missing, then builds and starts Billetix (release) at http://127.0.0.1:3000
# on an embedded SQLite file under ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
cargo leptos build --release
# After the site build, which empties target/site; the server serves it as /decoder/….
scripts/build-decoder.sh
# Not `cargo leptos serve`: it would rebuild and so empty target/site again. The binary with
# the settings `serve` gives it (BILLETIX_ADDR, when set, still overrides the address).
LEPTOS_OUTPUT_NAME=billetix LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg LEPTOS_HASH_FILES=true \
  exec "${CARGO_TARGET_DIR:-target}/release/billetix"
