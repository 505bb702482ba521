#!/usr/bin/env bash
# Audits the built promohub against the GraphQL over HTTP spec with the graphql-http package's
# auditServer (npm). Needs node and npm, and target/debug/promohub (`cargo build --workspace`
# or `cargo test --workspace --no-run`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary="$root/target/debug/promohub"
[ -x "$binary" ] || { echo "build first: cargo build --workspace" >&2; exit 2; }
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

cp "$root/tests/graphql-http/audit.mjs" "$work/"
(cd "$work" && npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
  graphql-http@1.23.1 graphql@16.11.0 >/dev/null)

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token="audit-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
(cd "$work" && PROMOHUB_LISTEN="127.0.0.1:$port" DATABASE_URL="sqlite://$work/audit.db?mode=rwc" \
  PROMOHUB_API_TOKENS="write:$token" RUST_LOG=warn exec "$binary" serve >"$work/server.log" 2>&1) &
pid=$!
for _ in $(seq 200); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.05
done
AUDIT_TOKEN="$token" node "$work/audit.mjs" "http://127.0.0.1:$port/graphql"
