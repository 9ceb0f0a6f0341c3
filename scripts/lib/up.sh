# shellcheck shell=bash
# Sourced by scripts/schemathesis.sh and scripts/e2e.sh (which define `log` and `die`): a throwaway `devopstrack up`
# on loopback for a run against the real stack.
#
#   up_start BIN LOG [NAME=VALUE ...]
#
# Starts BIN `up` with every port free (:0) on 127.0.0.1, a fresh data directory and the extra variables given, its
# output in LOG; waits for the banner (the gateway's port and the generated admin password) and for /readyz. Sets
# `base` (http://127.0.0.1:PORT), `password`, `up_pid`, `up_log` and `data_dir`. On exit the stack is stopped (TERM,
# then KILL after 10 s) and the data directory removed.

up_stop() {
  if [[ -n "${up_pid:-}" ]] && kill -0 "$up_pid" 2>/dev/null; then
    kill -TERM "$up_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$up_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$up_pid" 2>/dev/null || true
  fi
  if [[ -n "${data_dir:-}" ]]; then
    rm -rf "$data_dir"
  fi
}

up_start() {
  local bin="$1"
  up_log="$2"
  shift 2
  data_dir="$(mktemp -d)"
  up_pid=""
  trap up_stop EXIT INT TERM

  log "starting devopstrack up (data in $data_dir)"
  : >"$up_log"
  env -u DEVOPSTRACK_ADMIN_EMAIL -u DEVOPSTRACK_ADMIN_PASSWORD -u DEVOPSTRACK_CONFIG \
    DEVOPSTRACK_AUTH__GRPC_ADDR=127.0.0.1:0 DEVOPSTRACK_AUTH__ADMIN_ADDR=127.0.0.1:0 \
    DEVOPSTRACK_PROJECTS__GRPC_ADDR=127.0.0.1:0 DEVOPSTRACK_PROJECTS__ADMIN_ADDR=127.0.0.1:0 \
    DEVOPSTRACK_TASKS__GRPC_ADDR=127.0.0.1:0 DEVOPSTRACK_TASKS__ADMIN_ADDR=127.0.0.1:0 \
    DEVOPSTRACK_METRICS__GRPC_ADDR=127.0.0.1:0 DEVOPSTRACK_METRICS__ADMIN_ADDR=127.0.0.1:0 \
    DEVOPSTRACK_GATEWAY__HTTP_ADDR=127.0.0.1:0 DEVOPSTRACK_GATEWAY__ADMIN_ADDR=127.0.0.1:0 \
    DEVOPSTRACK_LOG="${DEVOPSTRACK_LOG:-warn}" \
    "$@" \
    "$bin" up --data-dir "$data_dir" >"$up_log" 2>&1 &
  up_pid=$!

  # The banner prints the gateway's port and, on this first start, the generated admin password.
  local port=""
  password=""
  for _ in $(seq 1 300); do
    kill -0 "$up_pid" 2>/dev/null || { cat "$up_log" >&2; die "devopstrack up exited during start-up"; }
    port="$(sed -n 's#.*dashboard and API *http://localhost:\([0-9]*\).*#\1#p' "$up_log" | head -n1)"
    password="$(sed -n 's#^ *password  *\([^ ]*\)$#\1#p' "$up_log" | head -n1)"
    [[ -n "$port" && -n "$password" ]] && break
    sleep 0.2
  done
  [[ -n "$port" ]] || { cat "$up_log" >&2; die "no gateway port in the banner within 60 s"; }
  [[ -n "$password" ]] || die "no generated admin password in the banner"
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$base/readyz" 2>/dev/null && break
    sleep 0.2
  done
  curl -fsS -o /dev/null "$base/readyz" || die "$base/readyz never answered 200"
}
