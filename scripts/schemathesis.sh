#!/usr/bin/env bash
# The REST API against its own OpenAPI document, with schemathesis: builds and starts `devopstrack up` on free
# 127.0.0.1 ports with a throwaway data directory, logs in as the admin with the password it prints once, and sends
# every documented operation generated valid and invalid requests, bounded in examples per operation and in time.
#
# It fails on any server error (5xx), any answer outside the documented contract (status code, content type, headers,
# body schema), a 405 without `Allow`, a request the schema calls invalid that is accepted, and a request the schema
# calls valid that is refused -- except where scripts/schemathesis.toml lists a rule the schema cannot state (an
# opaque page token, a cross-field rule, a signature), each with its reason.
#
#   scripts/schemathesis.sh                       dev build
#   ST_SKIP_BUILD=1 scripts/schemathesis.sh       reuse target/<profile>/devopstrack as it is
#   ST_MAX_EXAMPLES=N ST_SEED=N ST_TIMEOUT=S      examples per operation (default 10), the seed (default 1: the same
#                                                 cases every run), the bound on the run itself (default 150 s)
#
# schemathesis comes from PyPI into .venv (`.ci/run` installs the pinned version). Without .venv/bin/schemathesis the
# check is skipped with a WARNING, unless DEVOPSTRACK_REQUIRE_BACKENDS=1 (CI), where that is a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> schemathesis: %s\n' "$*"; }
die() {
  printf 'schemathesis: FAILED: %s\n' "$*" >&2
  exit 1
}

st=.venv/bin/schemathesis
if [[ ! -x "$st" ]]; then
  if [[ "${DEVOPSTRACK_REQUIRE_BACKENDS:-0}" == 1 ]]; then
    die "$st is missing and DEVOPSTRACK_REQUIRE_BACKENDS=1 (install: .venv/bin/pip install schemathesis==4.32.5)"
  fi
  printf 'WARNING: %s is missing: SKIPPED the OpenAPI schema check (.venv/bin/pip install schemathesis==4.32.5)\n' "$st" >&2
  exit 0
fi

profile="${PROFILE:-dev}"
case "$profile" in
  dev) cargo_profile=(); bin_dir=target/debug ;;
  release) cargo_profile=(--release); bin_dir=target/release ;;
  *) cargo_profile=(--profile "$profile"); bin_dir="target/$profile" ;;
esac
if [[ "${ST_SKIP_BUILD:-0}" != 1 ]]; then
  log "cargo build -p devopstrack --locked ${cargo_profile[*]}"
  cargo build -p devopstrack --locked "${cargo_profile[@]}"
fi
[[ -x "$bin_dir/devopstrack" ]] || die "$bin_dir/devopstrack is not built"

out=target/schemathesis
rm -rf "$out"
mkdir -p "$out"
# Every port free (:0), loopback only; the login limit raised so generated logins are not all 429 (the limit itself is
# tested in tests/api/edge.rs).
source scripts/lib/up.sh
up_start "$bin_dir/devopstrack" "$out/devopstrack-up.log" DEVOPSTRACK_GATEWAY__LOGIN_RATE_PER_MINUTE=100000

# An access token lives 15 minutes: longer than the run.
token="$(curl -fsS "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"admin@localhost\",\"password\":\"$password\"}" |
  .venv/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])')" ||
  die "cannot log in as admin@localhost"

# Real objects for the generated requests to reach (scripts/schemathesis.toml draws ids from these files): a project
# with two environments, a release, a deployment, a finished pipeline, one held at an approval, a second user and an
# API token. Each file is a libFuzzer dictionary: one quoted value a line.
api() { # METHOD PATH [BODY] -> the answer's body; fails on a non-2xx
  curl -fsS -X "$1" "$base$2" -H "authorization: Bearer $token" -H 'content-type: application/json' ${3:+-d "$3"}
}
field() { .venv/bin/python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }
api POST /api/v1/projects '{"slug":"api","name":"API","repositories":[{"url":"https://github.com/acme/api"}],
  "environments":[{"name":"staging","tier":"staging"},{"name":"production","tier":"production","protected":true}]}' \
  >/dev/null || die "cannot create the test project"
api POST /api/v1/projects/api/releases '{"version":"1.0.0","commitSha":"3f2a9c1d8e"}' >/dev/null
api POST /api/v1/projects/api/deployments '{"id":"deploy-1","environment":"staging","version":"1.0.0",
  "status":"succeeded","startedAt":"2026-01-01T10:00:00Z","finishedAt":"2026-01-01T10:04:00Z"}' >/dev/null
quick='{"name":"unit","executor":"simulate","params":{"durationMs":10,"failRate":0,"logLines":3}}'
finished="$(api POST /api/v1/pipelines "{\"project\":\"api\",\"environment\":\"staging\",\"version\":\"1.0.0\",
  \"stages\":[{\"name\":\"test\",\"jobs\":[$quick]},{\"name\":\"deploy\",\"jobs\":[$quick]}]}" | field 'd["id"]')"
held="$(api POST /api/v1/pipelines "{\"project\":\"api\",\"stages\":[{\"name\":\"gate\",
  \"jobs\":[{\"name\":\"approve-me\",\"executor\":\"simulate\",\"requiresApproval\":true}]}]}" | field 'd["id"]')"
viewer="$(api POST /api/v1/users '{"email":"viewer@example.com","name":"Vera Viewer","role":"viewer",
  "password":"a long viewer password"}' | field 'd["id"]')"
api_token="$(api POST /api/v1/tokens '{"name":"ci","role":"viewer"}' | field 'd["token"]["id"]')"
for _ in $(seq 1 50); do
  state="$(api GET "/api/v1/pipelines/$finished" | field 'd["status"]')"
  [[ "$state" == succeeded ]] && break
  sleep 0.2
done
jobs="$(for id in "$finished" "$held"; do api GET "/api/v1/pipelines/$id" |
  field '"\n".join(j["id"] for s in d["stages"] for j in s["jobs"])'; done)"
dict() { # NAME VALUE... -> $out/NAME.dict
  printf '"%s"\n' "${@:2}" >"$out/$1.dict"
}
dict projects api
dict environments staging production
dict pipelines "$finished" "$held"
# shellcheck disable=SC2086 # one job id a word
dict jobs $jobs
dict users "$viewer"
dict tokens "$api_token"

# Excluded, and why:
# - GET /api/v1/ws: the WebSocket. Schemathesis cannot upgrade, so every request is the documented 400; the protocol
#   is tested over real sockets in crates/chat-gateway/tests/api/ws.
examples="${ST_MAX_EXAMPLES:-10}"
log "running against $base/api/v1/openapi.json (at most $examples examples per operation, seed ${ST_SEED:-1})"
status=0
started=$SECONDS
timeout --kill-after=10 "${ST_TIMEOUT:-150}" "$st" --config-file scripts/schemathesis.toml --no-color run \
  "$base/api/v1/openapi.json" \
  --header "Authorization: Bearer $token" \
  --exclude-operation-id openWebSocket \
  --max-examples "$examples" --seed "${ST_SEED:-1}" --workers 1 \
  --report junit --report-dir "$out" >"$out/run.log" 2>&1 || status=$?
took=$((SECONDS - started))
if ((status == 124 || status == 137)); then
  tail -n 60 "$out/run.log" >&2
  die "not finished within ${ST_TIMEOUT:-150} s (the log is $out/run.log)"
elif ((status != 0)); then
  cat "$out/run.log" >&2
  die "failures above (the log is $out/run.log; the stack's log $up_log)"
fi
grep -E '^(Test cases|  [0-9]+ generated)' "$out/run.log" || true
log "passed in ${took}s; the log is $out/run.log"
