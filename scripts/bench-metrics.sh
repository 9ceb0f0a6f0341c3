#!/usr/bin/env bash
# Load figures for the metrics service on the embedded SQLite store (release build, in-process, no network):
# ingest points/s (raw store.append and the app's buffered write path) and GetDora / GetOverview latency over one
# year of events for 50 projects. The dataset and the measures are described in crates/metrics/benches/ingest_dora.rs.
# Targets: ≥ 100,000 points/s ingested; GetDora ≤ 100 ms.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "==> cargo bench -p devopstrack-metrics --bench ingest_dora"
DEVOPSTRACK_LOG=${DEVOPSTRACK_LOG:-warn} cargo bench --locked -p devopstrack-metrics --bench ingest_dora
