#!/usr/bin/env bash
# Jobs through the public API, end to end (issue 19), on loopback only, bounded in time, printed next to the targets:
#   - creates: wrk ($BENCH_CONNECTIONS connections, default 32, for the given seconds, default 10) on
#     POST /api/v1/pipelines, a one-job no-op pipeline (scripts/bench/create-pipeline.lua), as the admin of a release
#     `devopstrack up`;
#   - jobs finished end to end: tasks' devopstrack_jobs_finished_total until every created job has finished, over the
#     time from the start of the load to then (creates + drain), and the drain alone (after the load stopped);
#   - `devopstrack up` to a 200 on /healthz: first start (fresh data directory) and warm restart (the same one);
#   - RSS of the whole platform (the devopstrack process, plus redis-server for the Redis store) idle and after load.
# Each store in turn: embedded SQLite (`devopstrack up` as a new user runs it), then Redis (a throwaway redis-server
# with the append-only file, as tasks requires, as its store). The machine's load (uptime) is printed with the figures:
# on a shared machine they are noisy.
# Usage: scripts/bench-throughput.sh [seconds of load, default 10]. BENCH_STORES="sqlite redis" picks the stores,
# BENCH_SKIP_BUILD=1 reuses the release build, BENCH_BIN=path runs that binary instead (a debug build checks the
# script). Needs wrk (apt-get install wrk) and, for Redis, redis-server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

duration=${1:-10}
connections=${BENCH_CONNECTIONS:-32}
stores=${BENCH_STORES:-"sqlite redis"}
command -v wrk >/dev/null || { echo "bench-throughput: wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
if [[ " $stores " == *" redis "* ]] && ! command -v redis-server >/dev/null; then
  echo "bench-throughput: redis-server is not installed (apt-get install -y redis-server)" >&2
  exit 1
fi

bin=${BENCH_BIN:-"${CARGO_TARGET_DIR:-target}/release/devopstrack"}
if [[ -z "${BENCH_SKIP_BUILD:-}" && -z "${BENCH_BIN:-}" ]]; then
  echo "==> cargo build --release -p devopstrack"
  cargo build --release --locked -p devopstrack
fi

work=$(mktemp -d)
up_pid="" redis_pid=""
stop_up() {
  if [[ -n "$up_pid" ]]; then
    kill -INT "$up_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$up_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$up_pid" 2>/dev/null || true
    wait "$up_pid" 2>/dev/null || true
    up_pid=""
  fi
}
stop_redis() {
  if [[ -n "$redis_pid" ]]; then
    kill -TERM "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=""
  fi
}
trap 'stop_up; stop_redis; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
load() { cut -d' ' -f1-3 /proc/loadavg; }
rss_mb() {
  local kb=0 pid
  for pid in "$@"; do
    kb=$(( kb + $(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0) ))
  done
  echo $(( kb / 1024 ))
}
finished_jobs() {
  curl -fsS "http://127.0.0.1:$tasks_admin/metrics" | awk '/^devopstrack_jobs_finished_total/ {s += $2} END {printf "%d\n", s}'
}

export BENCH_EMAIL=bench@example.com BENCH_PASSWORD=bench-password-123 BENCH_PROJECT=bench
# up_start DATA_DIR LOG [NAME=VALUE ...]: starts `devopstrack up` on free loopback ports, waits for /healthz (at most
# 60 s) and sets up_pid, base, tasks_admin and healthy_ms (from the spawn to the first 200).
up_start() {
  local data="$1" log="$2"
  shift 2
  local port
  port=$(free_port)
  tasks_admin=$(free_port)
  local started
  started=$(now_ms)
  env -u DEVOPSTRACK_CONFIG \
    DEVOPSTRACK_ADMIN_EMAIL=$BENCH_EMAIL DEVOPSTRACK_ADMIN_PASSWORD=$BENCH_PASSWORD DEVOPSTRACK_LOG=warn \
    DEVOPSTRACK_AUTH__GRPC_ADDR=127.0.0.1:0 DEVOPSTRACK_AUTH__ADMIN_ADDR=127.0.0.1:0 \
    DEVOPSTRACK_PROJECTS__GRPC_ADDR=127.0.0.1:0 DEVOPSTRACK_PROJECTS__ADMIN_ADDR=127.0.0.1:0 \
    DEVOPSTRACK_METRICS__GRPC_ADDR=127.0.0.1:0 DEVOPSTRACK_METRICS__ADMIN_ADDR=127.0.0.1:0 \
    DEVOPSTRACK_TASKS__GRPC_ADDR=127.0.0.1:0 DEVOPSTRACK_TASKS__ADMIN_ADDR="127.0.0.1:$tasks_admin" \
    DEVOPSTRACK_GATEWAY__HTTP_ADDR="127.0.0.1:$port" DEVOPSTRACK_GATEWAY__ADMIN_ADDR=127.0.0.1:0 \
    "$@" "$bin" up --data-dir "$data" >>"$log" 2>&1 &
  up_pid=$!
  base="http://127.0.0.1:$port"
  local deadline=$(( started + 60000 ))
  until curl -fs -o /dev/null "$base/healthz" 2>/dev/null; do
    if ! kill -0 "$up_pid" 2>/dev/null || (( $(now_ms) > deadline )); then
      cat "$log" >&2
      echo "bench-throughput: devopstrack up did not become healthy" >&2
      exit 1
    fi
    sleep 0.01
  done
  healthy_ms=$(( $(now_ms) - started ))
}

# run_store NAME [NAME=VALUE ...]: one column of the table, its figures in $work/NAME.env.
run_store() {
  local name="$1"
  shift
  local data="$work/$name-data" log="$work/$name-up.log" out="$work/$name.env"
  local pids_extra=()
  [[ -n "$redis_pid" ]] && pids_extra=("$redis_pid")
  echo "==> $name: devopstrack up (load $(load))"
  up_start "$data" "$log" "$@"
  echo "first_start_ms=$healthy_ms" >"$out"
  if grep -q "not reachable" "$log"; then echo "start_warning=1" >>"$out"; fi

  local token
  token=$(curl -fsS "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$BENCH_EMAIL\",\"password\":\"$BENCH_PASSWORD\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
  curl -fsS -o /dev/null "$base/api/v1/projects" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"slug\":\"$BENCH_PROJECT\",\"name\":\"Bench\"}"
  # One pipeline through first (warms the connections between the services), then idle.
  curl -fsS -o /dev/null "$base/api/v1/pipelines" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"project\":\"$BENCH_PROJECT\",\"stages\":[{\"name\":\"build\",\"jobs\":[{\"name\":\"noop\",\"params\":{\"durationMs\":0}}]}]}"
  sleep 2
  echo "rss_idle_mb=$(rss_mb "$up_pid" "${pids_extra[@]}")" >>"$out"

  local before started ended report
  before=$(finished_jobs)
  echo "==> $name: POST /api/v1/pipelines, $connections connections, ${duration}s (load $(load))"
  started=$(now_ms)
  report=$(BENCH_TOKEN=$token wrk -t2 -c"$connections" -d"${duration}s" --latency \
    -s scripts/bench/create-pipeline.lua "$base/api/v1/pipelines")
  ended=$(now_ms)
  echo "$report" | grep -v '^BENCH'
  local line requests status_errors socket_errors
  line=$(echo "$report" | grep '^BENCH')
  for kv in ${line#BENCH }; do echo "wrk_$kv" >>"$out"; done
  requests=$(echo "$line" | sed -n 's/.* requests=\([0-9]*\).*/\1/p')
  status_errors=$(echo "$line" | sed -n 's/.*status_errors=\([0-9]*\).*/\1/p')
  socket_errors=$(echo "$line" | sed -n 's/.*socket_errors=\([0-9]*\).*/\1/p')
  local created=$(( requests - status_errors ))
  # Requests still in flight when wrk stopped may have created a pipeline it did not count: a few more finish.
  local want=$(( before + created )) done_at="" finished
  local drain_deadline=$(( ended + 120000 ))
  while :; do
    finished=$(finished_jobs)
    if (( finished >= want )); then done_at=$(now_ms); break; fi
    (( $(now_ms) > drain_deadline )) && break
    sleep 0.02
  done
  {
    echo "created=$created"
    echo "load_ms=$(( ended - started ))"
    echo "socket_errors=$socket_errors"
    if [[ -n "$done_at" ]]; then
      echo "drain_ms=$(( done_at - ended ))"
      echo "e2e_ms=$(( done_at - started ))"
    else
      echo "undrained=$(( want - finished ))"
    fi
    echo "rss_after_mb=$(rss_mb "$up_pid" "${pids_extra[@]}")"
    echo "load_avg=\"$(load)\""
  } >>"$out"

  if [[ "$name" == sqlite ]]; then
    stop_up
    echo "==> $name: warm restart (load $(load))"
    up_start "$data" "$log" "$@"
    echo "warm_start_ms=$healthy_ms" >>"$out"
    if grep -q "not reachable" "$log"; then echo "start_warning=1" >>"$out"; fi
  fi
  stop_up
}

echo "==> machine: $(nproc) cores, load $(load)"
for store in $stores; do
  case "$store" in
    sqlite) run_store sqlite ;;
    redis)
      redis_port=$(free_port)
      mkdir -p "$work/redis"
      redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes \
        --appendfsync everysec --save '' --maxmemory-policy noeviction >"$work/redis.log" 2>&1 &
      redis_pid=$!
      for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
      run_store redis DEVOPSTRACK_TASKS__DATABASE_URL="redis://127.0.0.1:$redis_port/0"
      stop_redis
      ;;
    *) echo "bench-throughput: unknown store $store (sqlite, redis)" >&2; exit 1 ;;
  esac
done

# shellcheck disable=SC2086 # one argument per store
python3 scripts/bench/throughput_table.py "$work" $stores
