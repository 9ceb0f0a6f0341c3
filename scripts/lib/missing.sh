# shellcheck shell=bash
# Sourced by the test scripts (which define `log`): what to do when a tool or server a check needs is not there.
#
#   missing WHAT SKIPPED
#
# Under DEVOPSTRACK_REQUIRE_BACKENDS=1 (CI) a missing WHAT fails the run; otherwise it warns on stderr that SKIPPED
# did not run, and the caller goes on without it.

missing() {
  if [[ "${DEVOPSTRACK_REQUIRE_BACKENDS:-0}" == 1 ]]; then
    log "$1 is missing and DEVOPSTRACK_REQUIRE_BACKENDS=1: failing"
    exit 1
  fi
  printf 'WARNING: %s is missing: SKIPPED %s\n' "$1" "$2" >&2
}
