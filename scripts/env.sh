# Sourced by the other scripts: puts the project's npm-installed wasm-opt on PATH.
PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export PATH
