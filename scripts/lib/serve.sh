# Sourced by the scripts beside it. `serve_promohub BINARY WORK` starts BINARY in WORK on a free
# port of 127.0.0.1 with a fresh SQLite file and a random write token in demo mode (`promohub
# demo`: in-process provider sandboxes; `promohub serve` when the settings below configure a
# provider, e.g. WHOP_API_URL=... WHOP_API_KEY=...), waits until it answers, and sets `pid`, `url` (http://127.0.0.1:PORT) and `token`. The caller stops
# it: `kill "$pid"` (an EXIT trap). Any further arguments are VAR=value settings that replace
# those defaults (e.g. DATABASE_URL=postgres://..., or PROMOHUB_API_TOKENS and then `token` is
# not one the server knows).
serve_promohub() {
  local binary=$1 work=$2 command=demo setting
  shift 2
  # A provider among the settings: `serve` (demo mode is refused beside a configured provider).
  for setting in "$@"; do
    case "$setting" in *_API_URL=*) command=serve ;; esac
  done
  token="promohub-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  (cd "$work" && exec env PROMOHUB_LISTEN="127.0.0.1:0" \
    DATABASE_URL="sqlite://$work/promohub.db?mode=rwc" PROMOHUB_API_TOKENS="write:$token" \
    RUST_LOG=warn "$@" "$binary" "$command" >"$work/server.log" 2>"$work/server.err") &
  pid=$!
  url=""
  for _ in $(seq 400); do
    url=$(sed -n 's|^promohub listening on \(http://[0-9.:]*\)$|\1|p' "$work/server.log" | head -1)
    [ -n "$url" ] && curl -fs "$url/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$work/server.err" >&2; return 1; }
    sleep 0.05
  done
  echo "promohub did not start" >&2
  cat "$work/server.err" >&2
  return 1
}
