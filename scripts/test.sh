#!/usr/bin/env bash
# Runs the whole test suite against real servers: scripts/test-servers.sh starts a throwaway PostgreSQL and Redis
# (unless DEVOPSTRACK_TEST_POSTGRES_URL / DEVOPSTRACK_TEST_REDIS_URL are set), exports their URLs and stops them after.
#
#   scripts/test.sh [ARGS...]   extra arguments go to the test runner (e.g. a test-name filter); doctests are then skipped
#
# After the Rust suites: deploy/monitoring with promtool and a real Prometheus (scripts/test-monitoring.sh), the REST API
# against its OpenAPI document (scripts/schemathesis.sh: schemathesis from .venv,
# against a real `devopstrack up`), the dashboard's API types against that document (scripts/api-types.sh), the
# dashboard's unit tests (scripts/frontend-test.sh: npm ci, tsc, vitest) and the
# browser end-to-end run against a real `devopstrack up` in Chromium (scripts/e2e.sh). The last three need node/npm; the e2e run needs
# /usr/bin/chromium (or the browser named by DEVOPSTRACK_CHROMIUM). Without them they are skipped with a WARNING, unless DEVOPSTRACK_REQUIRE_BACKENDS=1 (CI), where a
# missing tool fails. With a test-name filter only the Rust tests run.
#
# Runner: cargo-nextest (`--profile ci` when CI is set: no fail-fast, JUnit at target/nextest/ci/junit.xml).
# Without cargo-nextest it falls back to `cargo test` and says so. Nextest does not run doctests, so with either runner
# they run first, on their own (they need no servers). Any failure fails the script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> %s\n' "$*"; }

if cargo nextest --version >/dev/null 2>&1; then
  runner=(cargo nextest run --workspace --locked --no-fail-fast)
  if [[ -n "${CI:-}" ]]; then
    runner+=(--profile ci)
  fi
else
  log "NOTE: cargo-nextest is not installed; falling back to 'cargo test' (install: cargo install cargo-nextest --locked)"
  runner=(cargo test --workspace --locked --no-fail-fast --lib --bins --tests)
fi

if [[ $# -eq 0 ]]; then
  # devopstrack-proto is generated code: prost copies .proto comments into rustdoc, where indented text would be
  # compiled as Rust. It has no hand-written examples to test.
  log "doctests: cargo test --workspace --locked --doc --exclude devopstrack-proto"
  cargo test --workspace --locked --doc --exclude devopstrack-proto
fi

log "tests: ${runner[*]} $*"
bash scripts/test-servers.sh -- "${runner[@]}" "$@"

if [[ $# -gt 0 ]]; then
  exit 0
fi

bash scripts/test-infra.sh # terraform fmt, HCL policy tests, checkov (offline infra checks)
bash scripts/test-deploy.sh # deploy/: renders, drift, schemas, lints, policy, config cross-check, loopback cluster

# shellcheck disable=SC1091 # sourced at run time; it defines `missing WHAT SKIPPED`
source scripts/lib/missing.sh

# The test run above built target/debug/devopstrack (with the workspace's feature set). `cargo build -p devopstrack`
# resolves features for that package alone and would recompile ~3 minutes of crates for the same code, so the two
# runs below use that binary (unless PROFILE names another profile, whose binary they build).
if [[ "${PROFILE:-dev}" == dev ]]; then
  export ST_SKIP_BUILD=1 E2E_SKIP_CARGO=1 MON_SKIP_BUILD=1 API_TYPES_SKIP_BUILD=1
fi

# promtool and a real Prometheus against a real `devopstrack up` (~20 s); skips itself with a WARNING without the
# `prometheus` package (a failure under DEVOPSTRACK_REQUIRE_BACKENDS=1).
log "metrics, alert rules, dashboards and a real Prometheus: scripts/test-monitoring.sh"
bash scripts/test-monitoring.sh

# Skips itself with a WARNING without .venv/bin/schemathesis (a failure under DEVOPSTRACK_REQUIRE_BACKENDS=1).
log "the API against its OpenAPI document: scripts/schemathesis.sh"
bash scripts/schemathesis.sh

if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  # The committed frontend/src/api/schema.d.ts against the document the gateway's code describes (openapi-typescript).
  log "dashboard API types against the OpenAPI document: scripts/api-types.sh"
  bash scripts/api-types.sh
  log "dashboard unit tests: scripts/frontend-test.sh"
  bash scripts/frontend-test.sh
  if [[ -x "${DEVOPSTRACK_CHROMIUM:-/usr/bin/chromium}" ]]; then
    log "end-to-end in Chromium: scripts/e2e.sh"
    bash scripts/e2e.sh
  else
    missing "${DEVOPSTRACK_CHROMIUM:-/usr/bin/chromium}" "the browser end-to-end run (apt-get install -y chromium)"
  fi
else
  missing "node/npm" "the dashboard tests and the browser end-to-end run"
fi
