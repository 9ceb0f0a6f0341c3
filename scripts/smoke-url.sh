#!/usr/bin/env bash
# Smoke test of a running DevOpsTrack through its public URL (the k3d Ingress in e2e-k3d.yml, the ALB in
# deploy-eks.yml, or `make run` on a laptop): health, the dashboard, sign-in, a project and a simulated pipeline
# that must reach `succeeded`, then clean-up. Bounded: every wait has a deadline; any failure exits 1.
#
#   DEVOPSTRACK_ADMIN_PASSWORD=... scripts/smoke-url.sh URL
#
# Environment: DEVOPSTRACK_ADMIN_EMAIL (default admin@localhost), DEVOPSTRACK_ADMIN_PASSWORD (required),
# SMOKE_WAIT_SECONDS (how long the URL may take to answer /healthz at all, default 300: a new ALB's DNS name),
# SMOKE_INSECURE=1 (accept a self-signed certificate, for a cluster without a real one). Needs curl and jq.
set -euo pipefail

base=${1:?usage: scripts/smoke-url.sh URL}
base=${base%/}
email=${DEVOPSTRACK_ADMIN_EMAIL:-admin@localhost}
password=${DEVOPSTRACK_ADMIN_PASSWORD:?DEVOPSTRACK_ADMIN_PASSWORD must be set}
wait_seconds=${SMOKE_WAIT_SECONDS:-300}
curl_opts=(--silent --show-error --max-time 20)
[[ "${SMOKE_INSECURE:-0}" == 1 ]] && curl_opts+=(--insecure)

log() { printf '==> smoke: %s\n' "$*"; }
fail() { printf 'smoke: FAILED: %s\n' "$*" >&2; exit 1; }

# status_of METHOD PATH [JSON]: prints the body to $body_file and the status code to stdout.
body_file=$(mktemp)
trap 'rm -f "$body_file"' EXIT
call() {
  local method=$1 path=$2 data=${3:-}
  local args=("${curl_opts[@]}" -X "$method" -o "$body_file" -w '%{http_code}' "$base$path")
  [[ -n "${token:-}" ]] && args+=(-H "authorization: Bearer $token")
  [[ -n "$data" ]] && args+=(-H 'content-type: application/json' --data "$data")
  curl "${args[@]}" || echo 000
}
expect() {
  local want=$1 got=$2 what=$3
  [[ "$got" == "$want" ]] || fail "$what: HTTP $got (wanted $want): $(head -c 500 "$body_file")"
}

log "waiting up to ${wait_seconds}s for $base/healthz"
deadline=$((SECONDS + wait_seconds))
until [[ "$(call GET /healthz 2>/dev/null)" == 200 ]]; do
  ((SECONDS < deadline)) || fail "$base/healthz did not answer 200 within ${wait_seconds}s"
  sleep 5
done

expect 200 "$(call GET /)" "the dashboard at /"
grep -qi '<html' "$body_file" || fail "/ did not serve the dashboard's HTML"

expect 401 "$(call POST /api/v1/auth/login "$(jq -nc --arg e "$email" '{email: $e, password: "not-the-password"}')")" \
  "a wrong password"
expect 200 "$(call POST /api/v1/auth/login "$(jq -nc --arg e "$email" --arg p "$password" '{email: $e, password: $p}')")" \
  "sign-in as $email"
token=$(jq -er .accessToken "$body_file") || fail "sign-in answered no accessToken"

expect 200 "$(call GET /api/v1/auth/me)" "GET /api/v1/auth/me"
[[ "$(jq -r .role "$body_file")" == admin ]] || fail "$email is not an admin"
log "signed in as $email (admin)"

slug="smoke-$(date +%s)-$RANDOM"
expect 201 "$(call POST /api/v1/projects "$(jq -nc --arg s "$slug" \
  '{slug: $s, name: "Smoke test", environments: [{name: "staging", tier: "staging"}]}')")" "creating project $slug"
cleanup() { call DELETE "/api/v1/projects/$slug" >/dev/null || true; rm -f "$body_file"; }
trap cleanup EXIT

expect 201 "$(call POST /api/v1/pipelines "$(jq -nc --arg s "$slug" '{project: $s, stages: [
  {name: "build", jobs: [{name: "compile", executor: "simulate", params: {durationMs: 200, failRate: 0, logLines: 3}}]},
  {name: "test", jobs: [{name: "unit", executor: "simulate", params: {durationMs: 200, failRate: 0}}]}]}')")" \
  "creating a pipeline"
pipeline=$(jq -er .id "$body_file") || fail "the new pipeline has no id"
log "pipeline $pipeline created in $slug"

deadline=$((SECONDS + 120))
while :; do
  expect 200 "$(call GET "/api/v1/pipelines/$pipeline")" "reading pipeline $pipeline"
  status=$(jq -r .status "$body_file")
  case "$status" in
    succeeded) break ;;
    failed | cancelled | timed_out) fail "pipeline $pipeline ended $status" ;;
  esac
  ((SECONDS < deadline)) || fail "pipeline $pipeline still $status after 120s"
  sleep 1
done
log "pipeline $pipeline succeeded"

expect 204 "$(call DELETE "/api/v1/projects/$slug")" "deleting project $slug"
trap 'rm -f "$body_file"' EXIT
log "passed against $base"
