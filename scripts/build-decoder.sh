#!/usr/bin/env bash
# Builds the scanner's barcode decoder (crate `decoder`) to WASM and puts it in
# public/decoder/ (decoder.js, decoder_bg.wasm; not committed), which cargo-leptos copies into
# the site with the other assets: the server serves it as /decoder/…, for
# public/decoder-worker.js. Run it before `cargo leptos build`, `serve` or `watch`. The
# optimised build is kept under the cargo target folder and only redone when the decoder's
# sources are newer.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
BUILT="$TARGET_DIR/decoder-web" # wasm-bindgen + wasm-opt output, kept across site builds
WASM="$BUILT/decoder_bg.wasm"
SITE=public/decoder

if [ -f "$WASM" ] && [ -f "$BUILT/decoder.js" ] &&
  [ -z "$(find decoder Cargo.toml Cargo.lock -newer "$WASM" -print -quit)" ]; then
  echo "decoder: $BUILT is up to date"
else
  printf '\n== barcode decoder (WASM)\n'
  cargo build -p decoder --lib --target wasm32-unknown-unknown --profile decoder-release
  rm -rf "$BUILT"
  wasm-bindgen --target web --out-dir "$BUILT" "$TARGET_DIR/wasm32-unknown-unknown/decoder-release/decoder.wasm"
  wasm-opt -O3 "$WASM" -o "$WASM"
  echo "decoder: $(wc -c <"$WASM") bytes of WASM, $(gzip -9c "$WASM" | wc -c) gzipped"
fi
mkdir -p "$SITE"
cp "$BUILT/decoder.js" "$WASM" "$SITE/"
