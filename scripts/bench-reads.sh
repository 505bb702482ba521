#!/usr/bin/env bash
# Reads at scale (issue 12): the release server beside a raw axum + sqlx handler that does the
# same reads (crates/bench-raw), on a throwaway PostgreSQL 15 seeded with N codes for each size,
# then on SQLite. Per query: wrk req/s, p50, p99 of both, alternated over rounds (medians), and
# the ratio PromoHub/raw; and PromoHub's RSS idle and after the load. Prints numbers, asserts
# nothing. Needs curl; installs wrk and PostgreSQL with apt-get when they are missing.
#   bash scripts/bench-reads.sh                         # 10k, 100k, 1M on PostgreSQL; 100k on SQLite
#   SIZES=100000 DURATION=5 ROUNDS=1 SQLITE=0 bash scripts/bench-reads.sh
# Settings: SIZES ("10000 100000 1000000"), DURATION (10, s per run), ROUNDS (3), WARMUP (5, s),
# CONNECTIONS (32), THREADS (2), POOL (10, the raw handler's pool, as PromoHub's), TIMEOUT (10s),
# SQLITE (1: also SQLite), SQLITE_SIZE (100000), EXPORT (1: time GET /export/promo-codes.csv of
# all N codes and sample the server's RSS during it), READS (1: the wrk cases; 0 skips them).
#   SIZES=1000000 READS=0 SQLITE=0 bash scripts/bench-reads.sh   # the export at 1M only
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sizes=${SIZES:-10000 100000 1000000}
duration=${DURATION:-10} rounds=${ROUNDS:-3} warmup=${WARMUP:-5}
connections=${CONNECTIONS:-32} threads=${THREADS:-2} pool=${POOL:-10} timeout=${TIMEOUT:-10s}

command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt-get install -y postgresql >/dev/null
pg_bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")

echo "building release (promohub, promohub-bench-raw)..."
cargo build --release --manifest-path "$root/Cargo.toml" -p promohub-graphql -p promohub-bench-raw
promohub="$root/target/release/promohub"
raw="$root/target/release/promohub-bench-raw"

work=$(mktemp -d)
chmod 755 "$work"
pids=()
pgdata=""
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "$pgdata" ] && as_pg "$pg_bin/pg_ctl" -D "$pgdata" -m immediate stop >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 30000))
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

# shellcheck source=lib/serve.sh
source "$root/scripts/lib/serve.sh"
read_token="bench-read-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# Each case: name, PromoHub's GraphQL (variables: $after, $code), the raw handler's route.
fields='id code status discount { percentOff } timesRedeemed createdAt'
links='providers { provider state externalId }'
page='pageInfo { hasNextPage endCursor }'
cases=(flat providers filtered sort_code_asc sort_expires_at_asc sort_times_redeemed_desc
  sort_created_at_asc deep validate by_code)
declare -A gql=(
  [flat]="{ promoCodes(first: 50, sortBy: CREATED_AT, descending: true) { nodes { $fields } $page } }"
  [providers]="{ promoCodes(first: 50, sortBy: CREATED_AT, descending: true) { nodes { $fields $links } $page } }"
  [filtered]="{ promoCodes(first: 50, sortBy: CREATED_AT, descending: true, filter: { status: [ACTIVE], provider: WHOP }) { nodes { $fields } $page } }"
  [sort_code_asc]="{ promoCodes(first: 50, sortBy: CODE, descending: false) { nodes { $fields } $page } }"
  [sort_expires_at_asc]="{ promoCodes(first: 50, sortBy: EXPIRES_AT, descending: false) { nodes { $fields } $page } }"
  [sort_times_redeemed_desc]="{ promoCodes(first: 50, sortBy: TIMES_REDEEMED, descending: true) { nodes { $fields } $page } }"
  [sort_created_at_asc]="{ promoCodes(first: 50, sortBy: CREATED_AT, descending: false) { nodes { $fields } $page } }"
  [deep]="query(\$after: String) { promoCodes(first: 50, sortBy: CREATED_AT, descending: true, after: \$after) { nodes { $fields } $page } }"
  [validate]="query(\$code: String!) { validatePromoCode(code: \$code) { valid reason promoCode { $fields $links } } }"
  [by_code]="query(\$code: String!) { promoCodeByCode(code: \$code) { $fields $links } }"
)
declare -A route=([flat]=/flat [providers]=/providers [filtered]=/filtered
  [sort_code_asc]=/sort/code [sort_expires_at_asc]=/sort/expires_at
  [sort_times_redeemed_desc]=/sort/times_redeemed [sort_created_at_asc]=/sort/created_at
  [deep]=/deep [validate]=/validate [by_code]=/by_code)

post() { curl -fsS "$1" -H "Authorization: Bearer $read_token" -H 'Content-Type: application/json' -d "$2"; }
ids() { grep -o '"id":"[^"]*"' | tr '\n' ' '; }
# Around the first byte where $1 and $2 differ: "...$1's text..." vs "...$2's text...".
first_difference() {
  local i=0
  while [ "${1:i:64}" = "${2:i:64}" ]; do i=$((i + 64)); done
  while [ "${1:i:1}" = "${2:i:1}" ]; do i=$((i + 1)); done
  [ $i -gt 30 ] && i=$((i - 30)) || i=0
  echo "...${1:i:90}... raw ...${2:i:90}..."
}
rss_mib() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
hwm_mib() { awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# export_csv BASE_URL PID DIR: downloads the whole CSV export (counted, not kept) while sampling
# the server's VmRSS every 0.1 s; prints rows, bytes, seconds, peak sampled RSS and VmHWM (MiB).
export_csv() {
  local base=$1 server=$2 dir=$3 peak=0 r started ended
  started=$(date +%s.%N)
  (curl -fsS -H "Authorization: Bearer $read_token" "$base/export/promo-codes.csv" |
    wc -lc >"$dir/export.count") &
  local job=$!
  while kill -0 "$job" 2>/dev/null; do
    r=$(rss_mib "$server")
    [ "$r" -gt "$peak" ] && peak=$r
    sleep 0.1
  done
  wait "$job" || echo "the export failed" >&2
  ended=$(date +%s.%N)
  local lines bytes
  read -r lines bytes <"$dir/export.count"
  echo "$((lines - 1)) $bytes $(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.1f", b - a }') $peak $(hwm_mib "$server")"
}
# wrk's figures in ms; $1: a wrk output file.
wrk_field() {
  case $2 in
    rps) awk '/^Requests\/sec/ { printf ($2 < 100 ? "%.1f" : "%.0f"), $2 }' "$1" ;;
    errors) awk '/Socket errors/ { gsub(",", ""); n += $4 + $6 + $8 + $10 } /Non-2xx/ { n += $NF }
                 END { print n + 0 }' "$1" ;;
    *) awk -v q="$2%" '$1 == q { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
         f = (u == "us") ? 0.001 : (u == "s") ? 1000 : (u == "m") ? 60000 : 1
         printf "%.1f", v * f }' "$1" ;;
  esac
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

load() { # load URL LUA OUT SECONDS
  wrk -t"$threads" -c"$connections" -d"$4s" --timeout "$timeout" --latency -s "$2" "$1" >"$3" 2>&1 || true
}

run_cases() { # run_cases LABEL N DATABASE_URL
  local label=$1 n=$2 db=$3 dir="$work/run-$1-$2"
  mkdir -p "$dir"
  serve_promohub "$promohub" "$dir" DATABASE_URL="$db" PROMOHUB_API_TOKENS="read:$read_token" \
    WHOP_API_URL=http://127.0.0.1:9 WHOP_API_KEY=bench-unused PROMOHUB_SYNC_INTERVAL_SECS=0
  local hub_pid=$pid hub="$url/graphql"
  pids+=("$hub_pid")
  DATABASE_URL="$db" "$raw" serve --pool "$pool" >"$dir/raw.log" 2>"$dir/raw.err" &
  local raw_pid=$!
  pids+=("$raw_pid")
  local raw_url=""
  for _ in $(seq 200); do
    raw_url=$(sed -n 's|^promohub-bench-raw listening on \(http://[0-9.:]*\)$|\1|p' "$dir/raw.log")
    [ -n "$raw_url" ] && break
    sleep 0.05
  done
  [ -n "$raw_url" ] || { cat "$dir/raw.err" >&2; return 1; }
  local rss_idle
  rss_idle=$(rss_mib "$hub_pid")
  if [ "${EXPORT:-1}" = 1 ]; then
    local rows bytes secs peak hwm
    read -r rows bytes secs peak hwm < <(export_csv "$url" "$hub_pid" "$dir")
    echo
    echo "== $label, $n codes: CSV export: $rows rows, $((bytes / 1048576)) MiB in $secs s" \
      "($(awk -v r="$rows" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0) ? r / s : 0 }') rows/s);" \
      "PromoHub RSS idle $rss_idle MiB, peak during the export $peak MiB (VmHWM $hwm MiB)"
  fi
  if [ "${READS:-1}" = 0 ]; then
    kill "$hub_pid" "$raw_pid" 2>/dev/null || true
    wait "$hub_pid" "$raw_pid" 2>/dev/null || true
    return 0
  fi

  local deep_code raw_cursor code hub_cursor
  read -r deep_code raw_cursor code < <(DATABASE_URL="$db" "$raw" probe)
  hub_cursor=$(post "$hub" "{\"query\":\"{ promoCodes(first: 1, sortBy: CREATED_AT, descending: true, filter: { codePrefix: \\\"$deep_code\\\" }) { pageInfo { endCursor } } }\"}" |
    sed -n 's/.*"endCursor":"\([^"]*\)".*/\1/p')

  echo
  echo "== $label, $n codes: wrk -t$threads -c$connections -d${duration}s, $rounds round(s), medians; raw pool $pool"
  local c hub_body raw_body out a b
  for c in "${cases[@]}"; do
    local vars='{}' raw_req='{}'
    case $c in
      deep) vars="{\"after\":\"$hub_cursor\"}" raw_req="{\"after\":\"$raw_cursor\"}" ;;
      validate | by_code) vars="{\"code\":\"$code\"}" raw_req="{\"code\":\"$code\"}" ;;
    esac
    hub_body="{\"query\":\"${gql[$c]}\",\"variables\":$vars}"
    printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer %s"\nwrk.body = [==[%s]==]\n' \
      "$read_token" "$hub_body" >"$dir/$c.hub.lua"
    printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [==[%s]==]\n' \
      "$raw_req" >"$dir/$c.raw.lua"
    # One request each: same ids, no errors (printed, never fatal).
    a=$(post "$hub" "$hub_body" 2>&1 || true)
    b=$(post "$raw_url${route[$c]}" "$raw_req" 2>&1 || true)
    if [[ $a == *'"errors"'* || $a != *'"data"'* ]]; then
      echo "check $c: PromoHub answered an error: ${a:0:300}"
    elif [ "$a" = "$b" ]; then
      echo "check $c: identical JSON"
    elif command -v jq >/dev/null && [ "$(jq -cS . <<<"$a")" = "$(jq -cS . <<<"$b")" ]; then
      echo "check $c: same JSON (keys in another order)"
    elif [ "$(ids <<<"$a")" = "$(ids <<<"$b")" ]; then
      echo "check $c: same ids; the JSON differs first at: PromoHub $(first_difference "$a" "$b")"
    else
      echo "check $c: DIFFERENT ids; PromoHub: $(ids <<<"$a" | cut -c1-160)... raw: $(ids <<<"$b" | cut -c1-160)..."
    fi
  done

  declare -A res=()
  for c in "${cases[@]}"; do
    load "$hub" "$dir/$c.hub.lua" /dev/null "$warmup"
    load "$raw_url${route[$c]}" "$dir/$c.raw.lua" /dev/null "$warmup"
    for r in $(seq "$rounds"); do
      local order="hub raw"
      [ $((r % 2)) = 0 ] && order="raw hub"
      for s in $order; do
        out="$dir/$c.$s.$r.txt"
        if [ "$s" = hub ]; then load "$hub" "$dir/$c.hub.lua" "$out" "$duration"; else
          load "$raw_url${route[$c]}" "$dir/$c.raw.lua" "$out" "$duration"; fi
        for f in rps 50 99 errors; do res[$c.$s.$f]+="$(wrk_field "$out" "$f") "; done
      done
    done
  done
  local rss_load
  rss_load=$(rss_mib "$hub_pid")

  printf '%-25s %10s %9s %9s %6s   %10s %9s %9s %6s   %7s\n' case "hub req/s" "p50 ms" "p99 ms" errors \
    "raw req/s" "p50 ms" "p99 ms" errors "hub/raw"
  for c in "${cases[@]}"; do
    local v=()
    for s in hub raw; do for f in rps 50 99 errors; do v+=("$(median <<<"${res[$c.$s.$f]}")"); done; done
    printf '%-25s %10s %9s %9s %6s   %10s %9s %9s %6s   %6s%%\n' "$c" "${v[@]}" \
      "$(awk -v a="${v[0]}" -v b="${v[4]}" 'BEGIN { printf "%.1f", (b > 0) ? 100 * a / b : 0 }')"
  done
  echo "PromoHub RSS: idle $rss_idle MiB, after the load $rss_load MiB (raw handler: $(rss_mib "$raw_pid") MiB)"
  kill "$hub_pid" "$raw_pid" 2>/dev/null || true
  wait "$hub_pid" "$raw_pid" 2>/dev/null || true
}

seed() { # seed N DATABASE_URL
  DATABASE_URL="$2" "$promohub" migrate >/dev/null
  DATABASE_URL="$2" "$raw" seed "$1"
}

pgdata="$work/pg"
mkdir -p "$pgdata"
[ "$(id -u)" = 0 ] && chown postgres "$pgdata"
pg_port=$(free_port)
as_pg "$pg_bin/initdb" -D "$pgdata" -U postgres -A trust >/dev/null
as_pg "$pg_bin/pg_ctl" -D "$pgdata" -l "$pgdata/log" -w \
  -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $pgdata -c fsync=off -c max_wal_size=4GB -c max_connections=100" start >/dev/null
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{ print $3 }') on port $pg_port (fsync=off); $(nproc) cores"
for n in $sizes; do
  db="postgres://postgres@127.0.0.1:$pg_port/bench_$n"
  as_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres "bench_$n"
  seed "$n" "$db"
  run_cases PostgreSQL "$n" "$db"
  as_pg "$pg_bin/dropdb" -h 127.0.0.1 -p "$pg_port" -U postgres "bench_$n"
done
if [ "${SQLITE:-1}" = 1 ]; then
  n=${SQLITE_SIZE:-100000}
  db="sqlite://$work/bench-$n.db?mode=rwc"
  seed "$n" "$db"
  run_cases SQLite "$n" "$db"
fi
