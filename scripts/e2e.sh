#!/usr/bin/env bash
# The dashboard end to end in a real browser: builds the frontend and `devopstrack`, starts `devopstrack up` on free
# 127.0.0.1 ports with a throwaway data directory, reads the admin password it prints once, and drives Debian's
# Chromium (/usr/bin/chromium, via npm playwright-core: no browser download) through sign-in, a project, a pipeline
# definition (first refused by the server on one field, then saved), a live run of it (api#1) and its log, a deploy to
# staging, the DORA tiles, a second deploy rolled back from the environment card (staging moves back, live), admin
# pages and sign-out. Screenshots and timings land in target/e2e/. The stack is always stopped; the whole run is
# bounded (E2E_TIMEOUT seconds, default 300 after builds).
#
#   scripts/e2e.sh                     dev build
#   PROFILE=release scripts/e2e.sh     optimised build (the timings of the note are taken this way)
#   E2E_SKIP_BUILD=1 scripts/e2e.sh    reuse frontend/dist and target/<profile>/devopstrack as they are
#   E2E_SKIP_CARGO=1 scripts/e2e.sh    build the dashboard but reuse target/<profile>/devopstrack (make test: the test run built it)
#   E2E_OVERVIEW_BUDGET_MS=3000 …      the overview's render budget (default 1000 ms) on a machine busy with other work
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> e2e: %s\n' "$*"; }
die() {
  printf 'e2e: FAILED: %s\n' "$*" >&2
  exit 1
}

chromium="${DEVOPSTRACK_CHROMIUM:-${CHROMIUM:-/usr/bin/chromium}}"
[[ -x "$chromium" ]] || die "no Chromium at $chromium (apt-get install chromium; see DEVELOPERS.md)"
command -v node >/dev/null 2>&1 || die "node is not installed (Node 20.19+; see DEVELOPERS.md)"

profile="${PROFILE:-dev}"
case "$profile" in
  dev) cargo_profile=(); bin_dir=target/debug ;;
  release) cargo_profile=(--release); bin_dir=target/release ;;
  *) cargo_profile=(--profile "$profile"); bin_dir="target/$profile" ;;
esac

if [[ "${E2E_SKIP_BUILD:-0}" != 1 ]]; then
  if [[ ! -f frontend/node_modules/.package-lock.json || frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]]; then
    log "npm ci (frontend)"
    npm ci --prefix frontend --no-audit --no-fund --loglevel=error
  fi
  log "npm run build (frontend)"
  npm run --prefix frontend build --silent
  npm run --prefix frontend size --silent # gzip per route; fails over the 250 KB initial-JS budget
  if [[ "${E2E_SKIP_CARGO:-0}" != 1 ]]; then
    log "cargo build -p devopstrack --locked ${cargo_profile[*]}"
    cargo build -p devopstrack --locked "${cargo_profile[@]}"
  fi
fi
[[ -f frontend/dist/index.html ]] || die "frontend/dist is not built"
[[ -x "$bin_dir/devopstrack" ]] || die "$bin_dir/devopstrack is not built"

out=target/e2e
rm -rf "$out"
mkdir -p "$out"
source scripts/lib/up.sh
up_start "$bin_dir/devopstrack" "$out/devopstrack-up.log" DEVOPSTRACK_GATEWAY__DASHBOARD_DIR="$PWD/frontend/dist"
log "stack up at $base"

# With the metrics service in `up`, the DORA step is required; without it the run reports it as pending.
require_dora=0
grep -q "metrics gRPC" "$up_log" && require_dora=1
log "running the browser flow (Chromium at $chromium; DORA step required: $require_dora)"
status=0
E2E_REQUIRE_DORA="$require_dora" E2E_BASE_URL="$base" E2E_ADMIN_EMAIL="admin@localhost" E2E_ADMIN_PASSWORD="$password" E2E_OUT="$out" \
  CHROMIUM="$chromium" timeout --kill-after=10 "${E2E_TIMEOUT:-300}" node frontend/e2e/run.mjs || status=$?
if ((status == 124)); then
  die "the browser flow did not finish within ${E2E_TIMEOUT:-300} s (screenshots so far in $out/)"
elif ((status != 0)); then
  echo "---- last lines of devopstrack up ($up_log) ----" >&2
  tail -n 40 "$up_log" >&2
  die "the browser flow failed (screenshots in $out/)"
fi
log "running the chat flow: frontend/e2e/chat.mjs (a context per person; set-up over the API)"
E2E_BASE_URL="$base" E2E_ADMIN_EMAIL="admin@localhost" E2E_ADMIN_PASSWORD="$password" E2E_OUT="$out" CHROMIUM="$chromium" \
  timeout --kill-after=10 "${E2E_TIMEOUT:-300}" node frontend/e2e/chat.mjs ||
  { tail -n 40 "$up_log" >&2; die "the chat flow failed or timed out (screenshots in $out/)"; }
log "passed; screenshots and timings in $out/"
