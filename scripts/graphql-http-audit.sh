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

# shellcheck source=lib/serve.sh
source "$root/scripts/lib/serve.sh"
serve_promohub "$binary" "$work"
AUDIT_TOKEN="$token" node "$work/audit.mjs" "$url/graphql"
