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

token="audit-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
(cd "$work" && PROMOHUB_LISTEN="127.0.0.1:0" DATABASE_URL="sqlite://$work/audit.db?mode=rwc" \
  PROMOHUB_API_TOKENS="write:$token" RUST_LOG=warn exec "$binary" serve >"$work/server.log" 2>"$work/server.err") &
pid=$!
url=""
for _ in $(seq 400); do
  url=$(sed -n 's|^promohub listening on \(http://[0-9.:]*\)$|\1|p' "$work/server.log" | head -1)
  [ -n "$url" ] && curl -fs "$url/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.err" >&2; exit 1; }
  sleep 0.05
done
[ -n "$url" ] || { echo "promohub did not start" >&2; cat "$work/server.err" >&2; exit 1; }
AUDIT_TOKEN="$token" node "$work/audit.mjs" "$url/graphql"
