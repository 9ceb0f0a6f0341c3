#!/usr/bin/env bash
# The dashboard's own checks: installs the locked npm packages (npm ci, only when package-lock.json is newer than
# node_modules), type-checks (tsc --noEmit, strict) and runs Vitest (components, API client, live socket).
#
#   scripts/frontend-test.sh            all of it
#   scripts/frontend-test.sh FILTER     only the Vitest files matching FILTER
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../frontend"

command -v npm >/dev/null 2>&1 || { echo "frontend-test: npm is not installed (Node 20.19+; see DEVELOPERS.md)" >&2; exit 1; }
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "==> npm ci (frontend)"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "==> tsc --noEmit (frontend)"
npx --no-install tsc --noEmit -p .
echo "==> vitest run (frontend)"
npx --no-install vitest run "$@"
