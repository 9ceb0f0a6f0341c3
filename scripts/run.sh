#!/usr/bin/env bash
# Builds and starts the whole platform in one process (`devopstrack up`): every service with its embedded store,
# dashboard and API at http://localhost:8080. On first start it prints the generated admin password once.
#
#   scripts/run.sh [ARGS...]        extra arguments go to `devopstrack up`, e.g. --data-dir DIR
#   PROFILE=release scripts/run.sh  optimised build (slower to compile, faster to run); default: dev
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The React dashboard (frontend/) is built here first once it lands (issue #6).

profile="${PROFILE:-dev}"
case "$profile" in
  dev) profile_args=() ;;
  release) profile_args=(--release) ;;
  *) profile_args=(--profile "$profile") ;;
esac

exec cargo run --locked "${profile_args[@]}" -p devopstrack -- up "$@"
