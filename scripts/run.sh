#!/usr/bin/env bash
# Builds and starts the whole platform in one process (`devopstrack up`): every service with its embedded store,
# dashboard and API at http://localhost:8080. On first start it prints the generated admin password once.
#
#   scripts/run.sh [ARGS...]        extra arguments go to `devopstrack up`, e.g. --data-dir DIR
#   PROFILE=release scripts/run.sh  optimised build (slower to compile, faster to run); default: dev
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The React dashboard (frontend/) is built first, to frontend/dist, which the gateway serves at /. npm ci runs only when
# package-lock.json is newer than the installed packages. Without node/npm the API still starts, and / says how to
# build the dashboard.
if command -v npm >/dev/null 2>&1 && [[ -f frontend/package.json ]]; then
  if [[ ! -f frontend/node_modules/.package-lock.json || frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]]; then
    echo "==> npm ci (frontend)"
    npm ci --prefix frontend --no-audit --no-fund --loglevel=error
  fi
  echo "==> npm run build (frontend)"
  npm run --prefix frontend build --silent
else
  echo "WARNING: npm not found: the dashboard is not built (the API still starts; see DEVELOPERS.md)" >&2
fi

profile="${PROFILE:-dev}"
case "$profile" in
  dev) profile_args=() ;;
  release) profile_args=(--release) ;;
  *) profile_args=(--profile "$profile") ;;
esac

exec cargo run --locked "${profile_args[@]}" -p devopstrack -- up "$@"
