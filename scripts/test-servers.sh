#!/usr/bin/env bash
# Runs a command with one throwaway PostgreSQL, one Redis (append-only file on, no eviction: what the tasks service
# requires) and (when installed) one MongoDB-compatible server shared by the whole run.
#
# Usage: scripts/test-servers.sh -- CMD [ARGS...]
#
# cargo-nextest runs every test in its own process, where the testkit would start its own servers (seconds each);
# this starts them once and exports DEVOPSTRACK_TEST_POSTGRES_URL and DEVOPSTRACK_TEST_REDIS_URL for CMD. A URL that
# is already set is used as it is. The servers and their temp dir are removed when CMD ends (also on Ctrl-C, and,
# via a guard process, even if this script is killed). A server that cannot start is reported; CMD then runs without
# its URL, unless DEVOPSTRACK_REQUIRE_BACKENDS=1, which makes that an error (exit 1). Exits with CMD's status.
#
# MongoDB is optional: the wire-compatible server is PyPI SecantusDB from the repository's .venv (`.ci/run` installs
# it; by hand: python3 -m venv .venv && .venv/bin/pip install SecantusDB), exported as DEVOPSTRACK_TEST_MONGODB_URL.
# Without .venv/bin/secantusd-py this says so in one line and CMD runs without it (its tests print SKIPPED); an
# installed server that fails to start counts as unavailable, like the others.
set -euo pipefail

usage() {
  echo "usage: $0 -- CMD [ARGS...]" >&2
  exit 2
}
[[ "${1:-}" == "--" ]] || usage
shift
(($# > 0)) || usage

log() { echo "test-servers: $*" >&2; }

require_backends=0
case "${DEVOPSTRACK_REQUIRE_BACKENDS:-}" in
  1 | true | TRUE | True) require_backends=1 ;;
esac

workdir=""
pg_pid=""
redis_pid=""
mongodb_pid=""
guard_pid=""
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
secantusd="$repo_root/.venv/bin/secantusd-py"

# Stops the servers (postgres: SIGINT = fast shutdown; redis and mongodb: SIGTERM), waits for them, removes the temp dir and exits
# with the status the script was about to exit with.
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n "$guard_pid" ]]; then kill "$guard_pid" 2>/dev/null || true; fi
  if [[ -n "$pg_pid" ]]; then kill -INT "$pg_pid" 2>/dev/null || true; fi
  if [[ -n "$redis_pid" ]]; then kill -TERM "$redis_pid" 2>/dev/null || true; fi
  if [[ -n "$mongodb_pid" ]]; then kill -TERM "$mongodb_pid" 2>/dev/null || true; fi
  local pid
  for pid in $pg_pid $redis_pid $mongodb_pid; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n "$workdir" ]]; then rm -rf "$workdir"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A port on 127.0.0.1 where nothing listens right now, below Linux's ephemeral range (32768+) so that outgoing
# connections do not take it in the meantime.
free_port() {
  local port attempt
  for ((attempt = 0; attempt < 50; attempt++)); do
    port=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# Prints the last lines of a server log, indented, to stderr.
log_tail() {
  if [[ -f "$1" ]]; then tail -n 20 "$1" | sed 's/^/    /' >&2; fi
}

# Reports that a backend is unavailable; exits 1 when backends are required.
unavailable() {
  log "$1 unavailable: $2"
  if ((require_backends)); then
    log "DEVOPSTRACK_REQUIRE_BACKENDS=1, giving up"
    exit 1
  fi
  log "running without it (its tests will be skipped or start their own server)"
}

# A server that did not come up: shows its log ($4), stops it with signal $3, forgets its pid (the variable named $2,
# and the file $5) and reports backend $1 unavailable, saying why: $6, or $7 when it had exited by itself.
give_up_start() {
  local pid=${!2} why=$6
  log_tail "$4"
  kill -0 "$pid" 2>/dev/null || why=$7
  kill "-$3" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  printf -v "$2" '%s' ""
  rm -f "$5"
  unavailable "$1" "$why (log above)"
}

# The directory holding initdb and postgres: PATH first, then the newest /usr/lib/postgresql/*/bin.
postgres_bin_dir() {
  local initdb dir
  if initdb=$(command -v initdb) && [[ -x "$(dirname "$initdb")/postgres" ]]; then
    dirname "$initdb"
    return 0
  fi
  while IFS= read -r dir; do
    if [[ -x "$dir/initdb" && -x "$dir/postgres" ]]; then
      echo "$dir"
      return 0
    fi
  done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V -r)
  return 1
}

# Polls "$@" every 0.1 s for up to $1 seconds while process $2 lives. Returns 0 once the check passes.
wait_for() {
  local timeout=$1 pid=$2 tick
  shift 2
  for ((tick = 0; tick < timeout * 10; tick++)); do
    kill -0 "$pid" 2>/dev/null || return 1
    if "$@"; then return 0; fi
    sleep 0.1
  done
  return 1
}

# shellcheck disable=SC2317 # invoked through wait_for
postgres_ready() {
  [[ "$(sed -n 8p "$1/postmaster.pid" 2>/dev/null)" == ready* ]] && (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null
}

# A subshell, so that the redirections made with exec stay in it. Sends PING as an inline command.
# shellcheck disable=SC2317 # invoked through wait_for
redis_ready() (
  exec 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
  printf 'PING\r\n' >&3
  read -r -t 1 reply <&3 && [[ "$reply" == "+PONG"* ]]
)

# The MongoDB-compatible server logs before it listens; ready once its port accepts a connection.
# shellcheck disable=SC2317 # invoked through wait_for
mongodb_ready() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_postgres() {
  local bin dir port
  bin=$(postgres_bin_dir) || {
    unavailable PostgreSQL "initdb/postgres found neither on PATH nor in /usr/lib/postgresql/*/bin"
    return 0
  }
  dir="$workdir/pg"
  mkdir -p "$dir"
  local as_postgres=()
  if [[ "$(id -u)" == 0 ]]; then
    # PostgreSQL refuses to run as root. setpriv, not runuser: runuser does not pass signals on.
    command -v setpriv >/dev/null || {
      unavailable PostgreSQL "running as root and setpriv (util-linux) is missing"
      return 0
    }
    as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups)
    chown -R postgres:postgres "$dir"
  fi
  if ! (cd "$dir" && "${as_postgres[@]}" "$bin/initdb" -A trust -E UTF8 --locale=C --no-sync -U postgres \
    -D "$dir/data" >"$dir/initdb.log" 2>&1); then
    log_tail "$dir/initdb.log"
    unavailable PostgreSQL "initdb failed (log above)"
    return 0
  fi
  port=$(free_port) || {
    unavailable PostgreSQL "no free port found"
    return 0
  }
  (cd "$dir" && exec "${as_postgres[@]}" "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" \
    -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c max_connections=200) </dev/null >"$dir/postgres.log" 2>&1 &
  pg_pid=$!
  echo "$pg_pid" >"$workdir/postgres.pid"
  if ! wait_for 20 "$pg_pid" postgres_ready "$dir/data" "$port"; then
    give_up_start PostgreSQL pg_pid INT "$dir/postgres.log" "$workdir/postgres.pid" \
      "the server did not come up within 20 s" "the server exited during startup"
    return 0
  fi
  export DEVOPSTRACK_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  log "postgres at $DEVOPSTRACK_TEST_POSTGRES_URL"
}

start_redis() {
  local dir port
  command -v redis-server >/dev/null || {
    unavailable Redis "redis-server is not on PATH"
    return 0
  }
  dir="$workdir/redis"
  mkdir -p "$dir"
  port=$(free_port) || {
    unavailable Redis "no free port found"
    return 0
  }
  # As tasks requires of its store (it checks at start): append-only file synced every second, no eviction.
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
    --maxmemory-policy noeviction --dir "$dir" --databases 1024 </dev/null >"$dir/redis.log" 2>&1 &
  redis_pid=$!
  echo "$redis_pid" >"$workdir/redis.pid"
  if ! wait_for 10 "$redis_pid" redis_ready "$port"; then
    give_up_start Redis redis_pid TERM "$dir/redis.log" "$workdir/redis.pid" \
      "redis-server did not answer PING within 10 s" "redis-server exited during startup"
    return 0
  fi
  export DEVOPSTRACK_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
  log "redis at $DEVOPSTRACK_TEST_REDIS_URL"
}

start_mongodb() {
  local dir port
  if [[ ! -x "$secantusd" ]]; then
    log "mongodb: $secantusd not installed, running without it (pip install SecantusDB into .venv to test MongoDB)"
    return 0
  fi
  dir="$workdir/mongodb"
  mkdir -p "$dir"
  port=$(free_port) || {
    unavailable MongoDB "no free port found"
    return 0
  }
  "$secantusd" --host 127.0.0.1 --port "$port" --storage-path :memory: </dev/null >"$dir/mongodb.log" 2>&1 &
  mongodb_pid=$!
  echo "$mongodb_pid" >"$workdir/mongodb.pid"
  if ! wait_for 20 "$mongodb_pid" mongodb_ready "$port"; then
    give_up_start MongoDB mongodb_pid TERM "$dir/mongodb.log" "$workdir/mongodb.pid" \
      "secantusd-py did not accept connections within 20 s" "secantusd-py exited during startup"
    return 0
  fi
  export DEVOPSTRACK_TEST_MONGODB_URL="mongodb://127.0.0.1:$port/?directConnection=true"
  log "mongodb (SecantusDB) at $DEVOPSTRACK_TEST_MONGODB_URL"
}

# If this script dies without running its traps (SIGKILL), stop the servers and remove the temp dir once it is gone.
# Started before the servers, so it learns their pids from the files that start_postgres/start_redis/start_mongodb
# write.
start_guard() {
  local parent=$$
  (
    trap '' INT
    while kill -0 "$parent" 2>/dev/null; do sleep 1; done
    pids=()
    for server in postgres:INT redis:TERM mongodb:TERM; do
      if [[ -f "$workdir/${server%:*}.pid" ]]; then
        pid=$(<"$workdir/${server%:*}.pid")
        kill -"${server#*:}" "$pid" 2>/dev/null && pids+=("$pid")
      fi
    done
    while ((${#pids[@]})) && kill -0 "${pids[@]}" 2>/dev/null; do sleep 0.2; done
    # An initdb still running can add files while rm walks the tree; try again until the tree is gone.
    for ((attempt = 0; attempt < 20; attempt++)); do
      rm -rf "$workdir" 2>/dev/null || true
      [[ -e "$workdir" ]] || break
      sleep 0.5
    done
  ) </dev/null >/dev/null 2>&1 &
  guard_pid=$!
}

if [[ -n "${DEVOPSTRACK_TEST_POSTGRES_URL:-}" ]]; then
  log "postgres from DEVOPSTRACK_TEST_POSTGRES_URL"
fi
if [[ -n "${DEVOPSTRACK_TEST_REDIS_URL:-}" ]]; then
  log "redis from DEVOPSTRACK_TEST_REDIS_URL"
fi
if [[ -n "${DEVOPSTRACK_TEST_MONGODB_URL:-}" ]]; then
  log "mongodb from DEVOPSTRACK_TEST_MONGODB_URL"
fi
if [[ -z "${DEVOPSTRACK_TEST_POSTGRES_URL:-}" || -z "${DEVOPSTRACK_TEST_REDIS_URL:-}" ||
  -z "${DEVOPSTRACK_TEST_MONGODB_URL:-}" ]]; then
  workdir=$(mktemp -d "${TMPDIR:-/tmp}/devopstrack-test-servers.XXXXXX")
  chmod 0755 "$workdir" # the postgres user must reach $workdir/pg when we are root
  start_guard
  [[ -n "${DEVOPSTRACK_TEST_POSTGRES_URL:-}" ]] || start_postgres
  [[ -n "${DEVOPSTRACK_TEST_REDIS_URL:-}" ]] || start_redis
  [[ -n "${DEVOPSTRACK_TEST_MONGODB_URL:-}" ]] || start_mongodb
fi

status=0
"$@" || status=$?
exit "$status"
