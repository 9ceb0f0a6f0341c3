#!/usr/bin/env bash
# The dashboard's API types (frontend/src/api/schema.d.ts) are generated from the gateway's OpenAPI document by npm
# openapi-typescript (pinned in frontend/package.json). The document comes from the code itself, offline:
# `devopstrack-gateway --print-openapi` needs no server and no settings. By default this checks that the committed file
# is what the document generates, and fails when they drift (make test runs it); --write regenerates the file.
#
#   scripts/api-types.sh            check
#   scripts/api-types.sh --write    regenerate frontend/src/api/schema.d.ts
#   API_TYPES_SKIP_BUILD=1          use target/debug/devopstrack-gateway as it is (make test: the test run built it)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> api-types: %s\n' "$*"; }
die() {
  printf 'api-types: FAILED: %s\n' "$*" >&2
  exit 1
}

mode=check
case "${1:-}" in
  "") ;;
  --write) mode=write ;;
  *) die "unknown argument ${1}: expected nothing or --write" ;;
esac

gateway=target/debug/devopstrack-gateway
if [[ "${API_TYPES_SKIP_BUILD:-0}" != 1 ]]; then
  log "cargo build -p devopstrack-gateway --bin devopstrack-gateway"
  cargo build -p devopstrack-gateway --locked --bin devopstrack-gateway
fi
[[ -x "$gateway" ]] || die "$gateway is not built (cargo build -p devopstrack-gateway)"
if [[ ! -x frontend/node_modules/.bin/openapi-typescript ]]; then
  log "npm ci (frontend)"
  npm ci --prefix frontend --no-audit --no-fund --loglevel=error
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$gateway" --print-openapi >"$work/raw.json"
# Keys sorted: the order of an example's keys depends on whether the build unified serde_json's `preserve_order`
# feature (a workspace build does, `-p devopstrack-gateway` does not), and the check must not depend on how it was built.
node -e '
  const fs = require("fs");
  const sorted = (v) => Array.isArray(v) ? v.map(sorted)
    : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])])) : v;
  fs.writeFileSync(process.argv[2], JSON.stringify(sorted(JSON.parse(fs.readFileSync(process.argv[1], "utf8"))), null, 2));
' "$work/raw.json" "$work/openapi.json"
(cd frontend && npx --no-install openapi-typescript "$work/openapi.json" --output "$work/schema.d.ts" >"$work/generate.log" 2>&1) || { cat "$work/generate.log" >&2; die "openapi-typescript failed"; }

committed=frontend/src/api/schema.d.ts
if [[ "$mode" == write ]]; then
  cp "$work/schema.d.ts" "$committed"
  log "wrote $committed ($(wc -l <"$committed") lines)"
  exit 0
fi
if ! diff -u "$committed" "$work/schema.d.ts" >"$work/drift.diff"; then
  head -n 60 "$work/drift.diff" >&2
  die "$committed differs from the OpenAPI document the gateway serves; run scripts/api-types.sh --write and commit it"
fi
log "$committed matches the OpenAPI document"
