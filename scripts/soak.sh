#!/usr/bin/env bash
# Soak run (docs/soak.md; not part of the test command): a throwaway PostgreSQL, the provider
# sandbox with 30% of writes failing before or after they land, two `promohub serve` replicas on
# that database, each SIGKILLed twice while 1000 creates and updates go through both; then the
# faults stop and it waits for every provider link to be SYNCED. Prints accepted, synced,
# duplicates, lost and the time to converge; exits 1 when the target is missed.
#   bash scripts/soak.sh                       # 1000 operations, lease 10 s
#   SOAK_OPERATIONS=200 SOAK_LEASE_SECS=5 bash scripts/soak.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# Debug builds: the run is bound by faults, kills and leases, not by CPU.
cargo build -q -p promohub-graphql -p promohub-soak --manifest-path "$root/Cargo.toml"
export SOAK_PROMOHUB="$root/target/debug/promohub"
export SOAK_LOG_DIR="${SOAK_LOG_DIR:-$root/target/soak}"
exec "$root/target/debug/promohub-soak"
