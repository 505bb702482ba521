#!/usr/bin/env bash
# Throughput of the release server on this machine: reads (a page of 50 codes with their
# providers, from SQLite) under wrk, and creates (each one written through to a provider sandbox)
# one after another. Prints numbers; asserts nothing. Needs wrk, curl and python3.
#   bash scripts/bench.sh            # 10 s of reads with 4 connections, 200 creates
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -p promohub-graphql --manifest-path "$root/Cargo.toml" >/dev/null 2>&1
binary="$root/target/release/promohub"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# shellcheck source=lib/serve.sh
source "$root/scripts/lib/serve.sh"
serve_promohub "$binary" "$work"
url="$url/graphql"

creates=${CREATES:-200}
start=$(date +%s.%N)
for i in $(seq "$creates"); do
  curl -fs "$url" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"query\":\"mutation { createPromoCode(input: {code: \\\"BENCH$i\\\", discount: {type: PERCENTAGE, percentOff: 10}, providers: [WHOP]}) { userErrors { code } } }\"}" >/dev/null
done
end=$(date +%s.%N)
python3 -c "d = $end - $start; print(f'creates (written through to the Whop sandbox, one at a time): {$creates} in {d:.2f} s = {$creates / d:.0f}/s, {d / $creates * 1000:.1f} ms each')"

cat >"$work/read.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
wrk.body = '{"query":"{ promoCodes(first: 50) { totalCount nodes { code status discount { percentOff } providers { provider state } } } }"}'
LUA
echo "reads (a page of 50 codes with their providers), wrk 4 connections, 2 threads, ${DURATION:-10}s:"
wrk -t2 -c4 -d"${DURATION:-10}s" -s "$work/read.lua" "$url" | grep -E "Requests/sec|Latency|requests in"
rss=$(ps -o rss= -p "$pid" | tr -d ' ')
echo "server resident memory after the run: $((rss / 1024)) MiB"
