#!/usr/bin/env bash
# Load figures for the public edge, on loopback only, bounded in time: starts a release `devopstrack up` in a temp
# dir on free ports, then runs wrk (64 connections) against
#   - POST /api/v1/auth/login   (Argon2id m=19 MiB t=2 p=1 on every request: CPU-bound by design)
#   - GET  /api/v1/auth/me      (token verified at the edge; the verified-token cache makes repeats cheap)
#   - GET  /api/v1/projects?pageSize=20  (edge → projects gRPC → embedded SQLite store; 40 projects seeded)
#   - GET  /api/v1/projects/bench-01     (one project with its environment states)
# Usage: scripts/bench-edge.sh [seconds per run, default 10]. Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

duration=${1:-10}
command -v wrk >/dev/null || { echo "bench-edge: wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }

echo "==> cargo build --release -p devopstrack"
cargo build --release --locked -p devopstrack

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export BENCH_EMAIL=bench@example.com BENCH_PASSWORD=bench-password-123
DEVOPSTRACK_ADMIN_EMAIL=$BENCH_EMAIL DEVOPSTRACK_ADMIN_PASSWORD=$BENCH_PASSWORD DEVOPSTRACK_LOG=warn \
  DEVOPSTRACK_AUTH__GRPC_ADDR=127.0.0.1:0 DEVOPSTRACK_AUTH__ADMIN_ADDR=127.0.0.1:0 \
  DEVOPSTRACK_PROJECTS__GRPC_ADDR=127.0.0.1:0 DEVOPSTRACK_PROJECTS__ADMIN_ADDR=127.0.0.1:0 \
  DEVOPSTRACK_TASKS__GRPC_ADDR=127.0.0.1:0 DEVOPSTRACK_TASKS__ADMIN_ADDR=127.0.0.1:0 \
  DEVOPSTRACK_GATEWAY__HTTP_ADDR="127.0.0.1:$port" DEVOPSTRACK_GATEWAY__ADMIN_ADDR=127.0.0.1:0 DEVOPSTRACK_GATEWAY__LOGIN_RATE_PER_MINUTE=100000000 \
  "${CARGO_TARGET_DIR:-target}/release/devopstrack" up --data-dir "$work/data" >"$work/up.log" 2>&1 &
up_pid=$!
trap 'kill -INT $up_pid 2>/dev/null || true; wait $up_pid 2>/dev/null || true; rm -rf "$work"' EXIT

base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -sf "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "$base/healthz" >/dev/null || { cat "$work/up.log"; exit 1; }

token=$(curl -sf "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$BENCH_EMAIL\",\"password\":\"$BENCH_PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')

echo "==> GET /api/v1/auth/me, 64 connections, ${duration}s"
wrk -t2 -c64 -d"${duration}s" --latency -H "Authorization: Bearer $token" "$base/api/v1/auth/me"

echo "==> seeding 40 projects"
for i in $(seq -w 1 40); do
  curl -sf "$base/api/v1/projects" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"slug\":\"bench-$i\",\"name\":\"Bench $i\",\"tags\":[\"bench\"],\"environments\":[{\"name\":\"staging\"},{\"name\":\"production\"}]}" \
    >/dev/null
done

echo "==> GET /api/v1/projects?pageSize=20, 64 connections, ${duration}s"
wrk -t2 -c64 -d"${duration}s" --latency -H "Authorization: Bearer $token" \
  "$base/api/v1/projects?pageSize=20"

echo "==> GET /api/v1/projects/bench-01, 64 connections, ${duration}s"
wrk -t2 -c64 -d"${duration}s" --latency -H "Authorization: Bearer $token" "$base/api/v1/projects/bench-01"

echo "==> POST /api/v1/auth/login, 64 connections, ${duration}s"
wrk -t2 -c64 -d"${duration}s" --latency --timeout 10s -s scripts/bench/login.lua "$base/api/v1/auth/login"
