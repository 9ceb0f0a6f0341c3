#!/usr/bin/env bash
# The production topology on loopback (`make test-cluster`): every DevOpsTrack service as its own process of its real
# binary, two gateways and two tasks workers beside the tasks API, configured with the environment the all-in-one
# manifest gives each container (deploy/tests/loopback.py maps only addresses), on real stores: PostgreSQL and the
# MongoDB-compatible server from scripts/test-servers.sh, Redis started with the redis StatefulSet's own durability
# flags, metrics on SQLite (no InfluxDB 2 server installs here). Then deploy/tests/cluster_scenario.py: sign in on
# gateway A, follow on gateway B's WebSocket while creating pipelines through A, jobs over both workers, SIGKILL one
# worker mid-run: every job still finishes once. Bounded (DEVOPSTRACK_CLUSTER_TIMEOUT, default 240 s); loopback only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> cluster: %s\n' "$*"; }
missing() {
  if [[ "${DEVOPSTRACK_REQUIRE_BACKENDS:-0}" == 1 ]]; then
    log "$1 is missing and DEVOPSTRACK_REQUIRE_BACKENDS=1: failing"
    exit 1
  fi
  printf 'WARNING: %s is missing: SKIPPED the loopback cluster scenario\n' "$1" >&2
  exit 0
}

if ! .venv/bin/python -c 'import yaml' 2>/dev/null; then
  missing "PyYAML in .venv (scripts/test-deploy.sh --install-tools)"
fi
[[ -x .venv/bin/secantusd-py ]] || missing "the MongoDB-compatible server .venv/bin/secantusd-py (pip install SecantusDB)"
command -v redis-server >/dev/null || missing "redis-server"
command -v kubectl >/dev/null || missing "kubectl (renders the manifests)"

build=(cargo build --workspace --locked --quiet)
for binary in devopstrack-auth devopstrack-projects devopstrack-tasks devopstrack-metrics devopstrack-gateway; do
  build+=(--bin "$binary")
done
log "${build[*]}"
"${build[@]}"

# Redis comes from the scenario itself (with the manifest's flags), so test-servers.sh is told not to start its own.
export DEVOPSTRACK_TEST_REDIS_URL=redis://unused.invalid
export DEVOPSTRACK_BIN_DIR="${CARGO_TARGET_DIR:-target}/debug"
DEVOPSTRACK_REQUIRE_BACKENDS=1 bash scripts/test-servers.sh -- .venv/bin/python deploy/tests/cluster_scenario.py
