#!/usr/bin/env bash
# Where the time of a create goes (issue 19): a release `devopstrack up` (embedded SQLite, or the Redis store) under
# `valgrind --tool=callgrind`, which counts instructions, so the profile is the same on a busy machine as on an idle
# one. Instrumentation is off while the platform starts (argon2 hashing of the first admin's password would dominate) and
# while the bench logs in; it covers PROFILE_CREATES one-job pipelines through POST /api/v1/pipelines and their drain
# (every job finished), then scripts/bench/profile_table.py prints the instructions per create, split by hop.
#
# Loopback only, bounded: the load is a fixed number of requests; every wait gives up after a deadline.
# Usage: scripts/bench-profile.sh [creates, default 400]. PROFILE_STORE=redis profiles the Redis store,
# BENCH_BIN=path picks the binary (default: the release build, built when missing), PROFILE_OUT=dir keeps the output
# (default target/profile). Needs valgrind (apt-get install valgrind) and python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

creates=${1:-400}
store=${PROFILE_STORE:-sqlite}
out=${PROFILE_OUT:-target/profile}
command -v valgrind >/dev/null || { echo "bench-profile: valgrind is not installed (apt-get install -y valgrind)" >&2; exit 1; }
[[ "$store" == sqlite || "$store" == redis ]] || { echo "bench-profile: PROFILE_STORE is sqlite or redis" >&2; exit 1; }
if [[ "$store" == redis ]] && ! command -v redis-server >/dev/null; then
  echo "bench-profile: redis-server is not installed (apt-get install -y redis-server)" >&2
  exit 1
fi

bin=${BENCH_BIN:-"${CARGO_TARGET_DIR:-target}/release/devopstrack"}
if [[ -z "${BENCH_BIN:-}" && ! -x "$bin" ]]; then
  echo "==> cargo build --release -p devopstrack"
  cargo build --release --locked -p devopstrack
fi

mkdir -p "$out"
work=$(mktemp -d)
up_pid="" redis_pid=""
cleanup() {
  if [[ -n "$up_pid" ]]; then
    kill -INT "$up_pid" 2>/dev/null || true
    for _ in $(seq 1 600); do kill -0 "$up_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$up_pid" 2>/dev/null || true
  fi
  if [[ -n "$redis_pid" ]]; then kill -TERM "$redis_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
finished_jobs() {
  curl -fsS "http://127.0.0.1:$tasks_admin/metrics" | awk '/^devopstrack_jobs_finished_total/ {s += $2} END {printf "%d\n", s}'
}

extra=()
if [[ "$store" == redis ]]; then
  redis_port=$(free_port)
  mkdir -p "$work/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes --appendfsync everysec \
    --save '' --maxmemory-policy noeviction >"$work/redis.log" 2>&1 &
  redis_pid=$!
  for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  extra=("DEVOPSTRACK_TASKS__DATABASE_URL=redis://127.0.0.1:$redis_port/0")
fi

email=bench@example.com password=bench-password-123 project=bench
port=$(free_port)
tasks_admin=$(free_port)
profile="$out/callgrind.$store.out"
rm -f "$profile"
echo "==> $store: devopstrack up under callgrind (instrumentation off until the load)"
env -u DEVOPSTRACK_CONFIG \
  DEVOPSTRACK_ADMIN_EMAIL=$email DEVOPSTRACK_ADMIN_PASSWORD=$password DEVOPSTRACK_LOG=warn \
  DEVOPSTRACK_AUTH__GRPC_ADDR=127.0.0.1:0 DEVOPSTRACK_AUTH__ADMIN_ADDR=127.0.0.1:0 \
  DEVOPSTRACK_PROJECTS__GRPC_ADDR=127.0.0.1:0 DEVOPSTRACK_PROJECTS__ADMIN_ADDR=127.0.0.1:0 \
  DEVOPSTRACK_METRICS__GRPC_ADDR=127.0.0.1:0 DEVOPSTRACK_METRICS__ADMIN_ADDR=127.0.0.1:0 \
  DEVOPSTRACK_TASKS__GRPC_ADDR=127.0.0.1:0 DEVOPSTRACK_TASKS__ADMIN_ADDR="127.0.0.1:$tasks_admin" \
  DEVOPSTRACK_GATEWAY__HTTP_ADDR="127.0.0.1:$port" DEVOPSTRACK_GATEWAY__ADMIN_ADDR=127.0.0.1:0 \
  "${extra[@]}" \
  valgrind --tool=callgrind --instr-atstart=no --dump-instr=no --separate-threads=no \
  --callgrind-out-file="$profile" "$bin" up --data-dir "$work/data" >"$work/up.log" 2>&1 &
up_pid=$!
base="http://127.0.0.1:$port"
deadline=$(( SECONDS + 600 ))
until curl -fs -o /dev/null "$base/healthz" 2>/dev/null; do
  if ! kill -0 "$up_pid" 2>/dev/null || (( SECONDS > deadline )); then
    cat "$work/up.log" >&2
    echo "bench-profile: devopstrack up did not become healthy under valgrind" >&2
    exit 1
  fi
  sleep 0.5
done

token=$(curl -fsS --max-time 120 "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
curl -fsS --max-time 120 -o /dev/null "$base/api/v1/projects" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' -d "{\"slug\":\"$project\",\"name\":\"Bench\"}"
body="{\"project\":\"$project\",\"stages\":[{\"name\":\"build\",\"jobs\":[{\"name\":\"noop\",\"params\":{\"durationMs\":0,\"logLines\":0}}]}]}"
# Warm every connection between the services and every cache (a few creates, drained), then collect.
for _ in 1 2 3 4 5; do
  curl -fsS --max-time 120 -o /dev/null "$base/api/v1/pipelines" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d "$body"
done
before=$(finished_jobs)
deadline=$(( SECONDS + 300 ))
until (( $(finished_jobs) >= 5 )) || (( SECONDS > deadline )); do sleep 0.5; done
before=$(finished_jobs)

callgrind_control -i on "$up_pid" >/dev/null
echo "==> $store: $creates creates through the API (4 concurrent), then the drain"
started=$SECONDS
BENCH_URL="$base/api/v1/pipelines" BENCH_TOKEN=$token BENCH_BODY=$body python3 - "$creates" <<'EOF'
import http.client, os, sys, threading, urllib.parse
total = int(sys.argv[1])
url = urllib.parse.urlsplit(os.environ["BENCH_URL"])
headers = {"authorization": "Bearer " + os.environ["BENCH_TOKEN"], "content-type": "application/json"}
body = os.environ["BENCH_BODY"].encode()
lock, left, failed = threading.Lock(), [total], []
def worker():
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    while True:
        with lock:
            if left[0] == 0:
                return
            left[0] -= 1
        conn.request("POST", url.path, body, headers)
        answer = conn.getresponse()
        answer.read()
        if answer.status != 201:
            failed.append(answer.status)
threads = [threading.Thread(target=worker) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
if failed:
    sys.exit(f"bench-profile: {len(failed)} creates failed: {sorted(set(failed))}")
EOF
want=$(( before + creates ))
deadline=$(( SECONDS + 600 ))
until (( $(finished_jobs) >= want )); do
  if (( SECONDS > deadline )); then echo "bench-profile: the jobs did not drain within 600 s" >&2; exit 1; fi
  sleep 0.5
done
callgrind_control -i off "$up_pid" >/dev/null
echo "==> $store: load and drain took $(( SECONDS - started )) s under valgrind; writing the profile"
kill -INT "$up_pid"
for _ in $(seq 1 1200); do kill -0 "$up_pid" 2>/dev/null || break; sleep 0.1; done
wait "$up_pid" 2>/dev/null || true
up_pid=""
python3 scripts/bench/profile_table.py "$profile" "$creates" | tee "$out/profile.$store.txt"
