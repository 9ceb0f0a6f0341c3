#!/usr/bin/env bash
# Load figures for the tasks service, on loopback only, bounded: the release `devopstrack-loadgen` runs auth,
# projects, a stand-in metrics service and tasks in-process and pushes noop pipelines through gRPC → store → workers →
# events → metrics outbox, on the embedded SQLite store and on Redis (DEVOPSTRACK_TEST_REDIS_URL, or a throwaway
# redis-server it starts). Each run prints jobs/s, create→done and event delivery latencies, and the CPU split.
# Usage: scripts/bench-tasks.sh [jobs per run, default 20000] [jobs per pipeline, default "1 10"] [stores, default
# "sqlite redis"]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

total=${1:-20000}
shapes=${2:-"1 10"}
stores=${3:-"sqlite redis"}
echo "==> cargo build --release -p devopstrack-loadgen"
cargo build --release --locked -p devopstrack-loadgen
bin="${CARGO_TARGET_DIR:-target}/release/devopstrack-loadgen"
export DEVOPSTRACK_LOG=${DEVOPSTRACK_LOG:-warn}
for store in $stores; do
  for jobs in $shapes; do
    "$bin" --store "$store" --pipelines $((total / jobs)) --jobs-per-pipeline "$jobs" --timeout 300
  done
done
