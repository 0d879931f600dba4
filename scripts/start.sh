#!/usr/bin/env bash
# Sets up what is missing, then builds and starts Billetix (release) at http://127.0.0.1:3000
# on an embedded SQLite file under ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
# Copied into the site by cargo-leptos with the other assets.
scripts/build-decoder.sh
exec cargo leptos serve --release
