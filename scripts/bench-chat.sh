#!/usr/bin/env bash
# The chat under load (issue 17), on loopback only, bounded in count and time, printed next to the targets:
#   - the bot's answer latency for read intents with the rule parser (POST …/chat/rooms/general/messages, which
#     answers with the bot's replies), p50/p99 over BENCH_CHAT_READS answers (default 200), one at a time;
#   - memory per connection: RSS of the platform before and after opening BENCH_CHAT_SOCKETS WebSockets (default
#     1,000), all authenticated and subscribed to room:general, divided by their number;
#   - a message's fan-out latency: sent with chat.send on one socket, until it is in each socket's receive queue
#     (kernel timestamp), p50/p99 over BENCH_CHAT_MESSAGES messages (default 100), one at a time.
# Targets on this 2-core machine: fan-out p99 <= 25 ms at 1,000 sockets, read-intent answer p99 <= 50 ms.
# The client is scripts/bench/chat_bench.py (asyncio + websockets' sans-I/O protocol + httpx, pinned below and
# installed into .venv when missing); it prints its own CPU next to the platform's, so a slow client shows.
#
# What the run changes from the defaults of a release `devopstrack up` (embedded stores, fresh data directory), and
# why: the socket caps per user and per address (20 and 50: one loopback client is one address and the sockets
# belong to ~10 users) are raised to the socket count, and the login rate per address is raised for the bench users'
# logins. The chat's own limit (10 messages a minute per person) stays: every message comes from a different bench
# user until that user has sent 10 (viewers created through the admin API).
#
# Usage: scripts/bench-chat.sh. BENCH_CHAT_SOCKETS, BENCH_CHAT_MESSAGES, BENCH_CHAT_READS set the counts;
# BENCH_SKIP_BUILD=1 reuses the release build, BENCH_BIN=path runs that binary instead (a debug build checks the
# script). The whole run is stopped after BENCH_CHAT_TIMEOUT seconds (default 600). BENCH_CHAT_OUT=file keeps the
# figures as JSON.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sockets=${BENCH_CHAT_SOCKETS:-1000}
messages=${BENCH_CHAT_MESSAGES:-100}
reads=${BENCH_CHAT_READS:-200}
timeout_s=${BENCH_CHAT_TIMEOUT:-600}
websockets_pin="websockets==17.4"
httpx_pin="httpx==0.28.1"

load() { cut -d' ' -f1-3 /proc/loadavg; }

# Each end of every socket is a file descriptor: the client and the platform each hold one per socket, plus their
# own (the platform: databases, gRPC between its services, ~100). Raise the soft limit up to the hard one if needed.
need_fds=$(( sockets + 512 ))
if (( $(ulimit -n) < need_fds )); then
  ulimit -n "$(( need_fds < $(ulimit -Hn) ? need_fds : $(ulimit -Hn) ))" 2>/dev/null || true
fi
if (( $(ulimit -n) < need_fds )); then
  echo "bench-chat: the open-file limit is $(ulimit -n) (hard $(ulimit -Hn)); $sockets sockets need $need_fds" >&2
  echo "bench-chat: raise it (ulimit -n $need_fds as root, or limits.conf) or set BENCH_CHAT_SOCKETS lower" >&2
  exit 1
fi

[[ -x .venv/bin/python ]] || python3 -m venv .venv
if ! .venv/bin/python -c 'import websockets, httpx' >/dev/null 2>&1; then
  echo "==> pip install $websockets_pin $httpx_pin into .venv (the chat bench's client)"
  .venv/bin/pip install --quiet --disable-pip-version-check "$websockets_pin" "$httpx_pin"
fi

bin=${BENCH_BIN:-"${CARGO_TARGET_DIR:-target}/release/devopstrack"}
if [[ -z "${BENCH_SKIP_BUILD:-}" && -z "${BENCH_BIN:-}" ]]; then
  echo "==> cargo build --release -p devopstrack"
  cargo build --release --locked -p devopstrack
fi

log() { printf '==> %s\n' "$*"; }
die() {
  printf 'bench-chat: %s\n' "$*" >&2
  exit 1
}
echo "==> machine: $(nproc) cores, load $(load); open-file limit $(ulimit -n)"
# scripts/lib/up.sh: free 127.0.0.1 ports, a fresh data directory, the generated admin password from the banner,
# /readyz; the platform stopped (and its data removed) on exit.
# shellcheck source=scripts/lib/up.sh
source scripts/lib/up.sh
work=$(mktemp -d)
up_start "$bin" "$work/up.log" \
  DEVOPSTRACK_GATEWAY__WS_MAX_PER_USER="$sockets" DEVOPSTRACK_GATEWAY__WS_MAX_PER_ADDRESS="$sockets" \
  DEVOPSTRACK_GATEWAY__LOGIN_RATE_PER_MINUTE=100000
trap 'up_stop; rm -rf "$work"' EXIT
email=$(sed -n 's#^ *email  *\([^ ]*\)$#\1#p' "$up_log" | head -n1)

echo "==> $reads read-intent answers, then $sockets sockets in room:general and $messages fan-out messages" \
  "(load $(load))"
status=0
timeout --signal=INT "$timeout_s" .venv/bin/python scripts/bench/chat_bench.py --base "$base" --pid "$up_pid" \
  --admin-email "${email:-admin@localhost}" --admin-password "$password" \
  --sockets "$sockets" --messages "$messages" --reads "$reads" --out "${BENCH_CHAT_OUT:-$work/chat.json}" || status=$?
if (( status != 0 )); then
  (( status == 124 )) && echo "bench-chat: stopped after ${timeout_s}s (BENCH_CHAT_TIMEOUT)" >&2
  echo "bench-chat: the platform's log:" >&2
  tail -n 30 "$work/up.log" >&2
  exit "$status"
fi
echo "Binary: $bin; machine load now $(load)"
