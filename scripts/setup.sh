#!/usr/bin/env bash
# Installs what building Billetix needs, skipping whatever is already there at the right
# version. Everything comes from the package registries (crates.io, npm, Debian).
#   scripts/setup.sh            build tools
#   scripts/setup.sh --browser  build tools + Debian Chromium for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.5 # 0.3.6+ needs a newer rustc than this machine's 1.95
WASM_BINDGEN_VERSION=$(sed -n '/^name = "wasm-bindgen"$/{n;s/^version = "\(.*\)"$/\1/p;q}' Cargo.lock)

step() { printf '\n== %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32 target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION"; then
  step "building cargo-leptos $CARGO_LEPTOS_VERSION (about 15-25 minutes, once)"
  cargo install "cargo-leptos@$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
  step "building wasm-bindgen-cli $WASM_BINDGEN_VERSION (the version Cargo.lock pins)"
  # Not --locked: its lockfile names a webpki-roots release missing from the registry.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  step "installing wasm-opt (npm binaryen) and playwright-core"
  npm ci --prefix end2end --no-audit --no-fund
fi

if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  step "installing Debian Chromium for the browser tests"
  apt-get update
  apt-get install -y chromium
fi
