#!/usr/bin/env bash
# Builds the scanner's barcode decoder (crate `decoder`) into target/site/decoder/ (decoder.js and
# decoder_bg.wasm), which the server serves from its site root as /decoder/…, loaded by
# public/decoder-worker.js. Run it after `cargo leptos build`: that build empties target/site.
# Does nothing when the output is newer than the decoder's sources.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

OUT=target/site/decoder
WASM="$OUT/decoder_bg.wasm"
INPUT="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/decoder-release/decoder.wasm"

if [ -f "$WASM" ] && [ -f "$OUT/decoder.js" ] &&
  [ -z "$(find decoder Cargo.toml Cargo.lock -newer "$WASM" -print -quit)" ]; then
  echo "decoder: $OUT is up to date"
  exit 0
fi

printf '\n== barcode decoder (WASM) into %s\n' "$OUT"
cargo build -p decoder --lib --target wasm32-unknown-unknown --profile decoder-release
wasm-bindgen --target web --out-dir "$OUT" "$INPUT"
# The features rustc's wasm32 target emits by default; wasm-opt would reject them otherwise.
wasm-opt -O3 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$WASM" -o "$WASM"
echo "decoder: $(wc -c <"$WASM") bytes of WASM, $(gzip -9c "$WASM" | wc -c) gzipped"
