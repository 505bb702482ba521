#!/usr/bin/env bash
# Bulk generation (issue 16), not part of the test command: builds the benchmark in release
# (crates/domain/examples/bench_bulk.rs) and runs it on SQLite and a throwaway PostgreSQL
# (promohub-test-support starts one; installs PostgreSQL with apt-get when it is missing).
#   (a) STORE codes stored by a job, nothing synced: seconds (target < 10 s for 100,000);
#   (b) SYNC codes written through to the Whop sandbox under the client limit N/1s (the form of
#       PROMOHUB_WHOP_RATE_LIMIT): achieved creates/s vs N (target >= 95%), the most calls the
#       sandbox saw in any second (<= N), and 429s.
# Prints numbers, asserts nothing; the runner's "bulk job finished ... phases=" line says where a
# store's time went.
#   bash scripts/bench-bulk.sh
#   STORE=100000 SYNC=0 DATABASES=postgres bash scripts/bench-bulk.sh
# Settings: STORE (100000), SYNC (10000), N (100), DATABASES ("sqlite postgres").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt-get install -y postgresql >/dev/null
echo "building release (bench_bulk)..."
cargo build --release --manifest-path "$root/Cargo.toml" -p promohub-domain --example bench_bulk
STORE=${STORE:-100000} SYNC=${SYNC:-10000} N=${N:-100} DATABASES=${DATABASES:-sqlite postgres} \
  "$root/target/release/examples/bench_bulk"
