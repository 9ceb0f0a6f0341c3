#!/usr/bin/env bash
# Load figures for the tasks service, on loopback only, bounded: the release `devopstrack-loadgen` runs auth,
# projects and tasks in-process and pushes noop pipelines through gRPC → store → workers → events, on the embedded
# SQLite store and on Redis (DEVOPSTRACK_TEST_REDIS_URL, or a throwaway redis-server it starts).
# Usage: scripts/bench-tasks.sh [pipelines, default 2000] [jobs per pipeline, default 10]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

pipelines=${1:-2000}
jobs=${2:-10}
echo "==> cargo build --release -p devopstrack-loadgen"
cargo build --release --locked -p devopstrack-loadgen
bin="${CARGO_TARGET_DIR:-target}/release/devopstrack-loadgen"
export DEVOPSTRACK_LOG=${DEVOPSTRACK_LOG:-warn}
"$bin" --store sqlite --pipelines "$pipelines" --jobs-per-pipeline "$jobs" --timeout 300
"$bin" --store redis --pipelines "$pipelines" --jobs-per-pipeline "$jobs" --timeout 300
