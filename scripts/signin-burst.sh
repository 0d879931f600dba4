#!/usr/bin/env bash
# Sends N concurrent wrong passwords for one login to a running Billetix and counts how many
# had their password checked (answered "wrong login or password") and how many were delayed
# before any check (TooManyAttempts). Usage: scripts/signin-burst.sh http://127.0.0.1:3000 admin 40
set -euo pipefail
url=${1:-http://127.0.0.1:3000}
login=${2:-admin}
count=${3:-40}
# One file an answer: concurrent writers to one pipe would interleave.
answers=$(mktemp -d)
trap 'rm -rf "$answers"' EXIT
seq "$count" | xargs -P "$count" -I{} curl -s -o "$answers/{}" -H 'content-type: application/json' \
  -d "{\"login\":\"$login\",\"password\":\"wrong guess number {}\"}" "$url/api/sign_in"
checked=$( (grep -l '"WrongCredentials"' "$answers"/* || true) | wc -l)
delayed=$( (grep -l 'TooManyAttempts' "$answers"/* || true) | wc -l)
echo "$count concurrent wrong passwords for $login: $checked checked, $delayed delayed before any check"
