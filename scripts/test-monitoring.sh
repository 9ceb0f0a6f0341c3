#!/usr/bin/env bash
# deploy/monitoring checked with the real tools, part of `make test` (scripts/test.sh calls it); about 20 s after the
# build. Needs Debian's `prometheus` package (promtool and the prometheus binary): `--install-tools` installs it.
#   1. the checks' own parsers (scripts/monitoring/test_*.py), promtool check config on both scrape configurations (the Kubernetes one with its pod discovery swapped for a
#      static target: Debian's build leaves Kubernetes discovery out, so only the relabelling is checked here),
#      promtool check rules, and promtool test rules (every alert fires and stays quiet: scripts/monitoring/promtool_test.py)
#   2. a throwaway `devopstrack up` (scripts/lib/up.sh): every service's admin /metrics scraped and linted with
#      `promtool check metrics`; the metric names they export are collected
#   3. the Grafana dashboards and the alert rules against those names: every PromQL expression parses (promtool, each
#      wrapped as a recording rule) and names only exported metrics (or, for alerts, one listed in
#      deploy/monitoring/pending-metrics.txt); every Flux query names only what the metrics service writes
#   4. a real Prometheus on loopback with the shipped rules and a test overlay of prometheus.yml pointed at that
#      `devopstrack up` (1 s scrape and evaluation): every target `up`; then the process stops and
#      DevOpsTrackServiceDown must turn pending or firing for every service, read from Prometheus' own API
#
#   scripts/test-monitoring.sh                   build devopstrack (incremental) and run the checks
#   MON_SKIP_BUILD=1 scripts/test-monitoring.sh  reuse target/debug/devopstrack as it is (scripts/test.sh does)
#   scripts/test-monitoring.sh --install-tools   apt-get install prometheus when promtool is missing (what .ci/run calls)
# Without promtool the checks are skipped with a WARNING, unless DEVOPSTRACK_REQUIRE_BACKENDS=1 (CI): then it fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> monitoring: %s\n' "$*"; }
die() {
  printf 'monitoring: FAILED: %s\n' "$*" >&2
  exit 1
}

if [[ "${1:-}" == --install-tools ]]; then
  if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
    log "apt-get install prometheus (promtool and the prometheus binary; Debian does not start it without systemd)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
  fi
  exit 0
fi
[[ $# -eq 0 ]] || { echo "usage: scripts/test-monitoring.sh [--install-tools]" >&2; exit 2; }

if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  if [[ "${DEVOPSTRACK_REQUIRE_BACKENDS:-0}" == 1 ]]; then
    die "promtool/prometheus are missing and DEVOPSTRACK_REQUIRE_BACKENDS=1 (scripts/test-monitoring.sh --install-tools)"
  fi
  printf 'WARNING: promtool/prometheus are missing: SKIPPED the monitoring checks (scripts/test-monitoring.sh --install-tools)\n' >&2
  exit 0
fi
python=.venv/bin/python
[[ -x "$python" ]] && "$python" -c 'import yaml' 2>/dev/null || python=python3
"$python" -c 'import yaml' 2>/dev/null || die "PyYAML is missing (scripts/test-deploy.sh --install-tools)"

started=$SECONDS
prom=deploy/monitoring/prometheus
work=$(mktemp -d)
prometheus_pid=""
stop_prometheus() {
  if [[ -n "$prometheus_pid" ]] && kill -0 "$prometheus_pid" 2>/dev/null; then
    kill -TERM "$prometheus_pid" 2>/dev/null || true
    wait "$prometheus_pid" 2>/dev/null || true
  fi
}
trap 'rm -rf "$work"' EXIT

# --- 1. configuration, rules and their unit tests --------------------------------------------------------------------
log "unit tests of the checks' parsers (scripts/monitoring/test_*.py)"
if ! unit="$("$python" -m unittest discover -s scripts/monitoring -p 'test_*.py' 2>&1)"; then
  die "scripts/monitoring unit tests:"$'\n'"$unit"
fi
log "promtool check config: compose and Kubernetes scrape configurations"
promtool check config "$prom/prometheus.yml" >/dev/null
"$python" scripts/monitoring/k8s_config.py "$prom/prometheus-k8s.yml" "$prom/alerts.yml" "$work/k8s"
promtool check config "$work/k8s/prometheus.yml" >/dev/null
log "promtool check rules $prom/alerts.yml"
promtool check rules "$prom/alerts.yml" >/dev/null
log "promtool test rules (every alert fires and stays quiet)"
"$python" scripts/monitoring/promtool_test.py

# --- 2. every service's exposition, linted ---------------------------------------------------------------------------
bin=target/debug/devopstrack
if [[ "${MON_SKIP_BUILD:-0}" != 1 ]]; then
  log "cargo build --workspace --locked --bin devopstrack"
  cargo build --workspace --locked --quiet --bin devopstrack
fi
[[ -x "$bin" ]] || die "$bin is not built"
# shellcheck disable=SC1091 # sourced at run time; it sets base, password and up_pid
source scripts/lib/up.sh
trap 'stop_prometheus; up_stop; rm -rf "$work"' EXIT INT TERM
up_start "$bin" "$work/up.log"
trap 'stop_prometheus; up_stop; rm -rf "$work"' EXIT INT TERM # up_start sets its own trap: keep both cleanups

declare -A admin
for service in gateway auth projects tasks metrics; do
  port="$(sed -n "s#^ *$service admin *http://127.0.0.1:\([0-9]*\)/metrics.*#\1#p" "$work/up.log" | head -n1)"
  [[ -n "$port" ]] || die "no $service admin port in the banner"
  admin[$service]=$port
done
# Traffic first: a labelled family has no line in the exposition until it has a series (a finished pipeline that
# deploys, delivered to the metrics service, fills the domain families).
log "traffic: a project, a pipeline deploying to staging, its delivery to the metrics service"
# shellcheck disable=SC2154 # base and password come from up_start
"$python" scripts/monitoring/traffic.py "$base" "$password" "http://127.0.0.1:${admin[metrics]}/metrics"
: >"$work/exported.txt"
for service in gateway auth projects tasks metrics; do
  url="http://127.0.0.1:${admin[$service]}/metrics"
  curl -fsS "$url" >"$work/$service.prom" || die "$url did not answer"
  if ! lint="$(promtool check metrics <"$work/$service.prom" 2>&1)"; then
    die "promtool check metrics on $service ($url):"$'\n'"$lint"
  fi
  # Family names (0.0.4 TYPE lines), a histogram also as its three sample series.
  awk '/^# TYPE / { print $3; if ($4 == "histogram") { print $3 "_bucket"; print $3 "_sum"; print $3 "_count" } }' \
    "$work/$service.prom" >>"$work/exported.txt"
  log "$service: $(grep -c '^# TYPE ' "$work/$service.prom") metric families, promtool check metrics clean"
done
sort -u -o "$work/exported.txt" "$work/exported.txt"

# --- 3. dashboards and rules against the exported names -------------------------------------------------------------
log "Grafana dashboards and alert rules: PromQL parses and names exported metrics; Flux names what metrics writes"
"$python" scripts/monitoring/check_queries.py --exported "$work/exported.txt" --work "$work/queries"

# --- 4. a real Prometheus against the running stack -----------------------------------------------------------------
"$python" scripts/monitoring/test_overlay.py "$prom/prometheus.yml" "$prom/alerts.yml" "$work/prometheus" \
  "gateway=127.0.0.1:${admin[gateway]}" "auth=127.0.0.1:${admin[auth]}" "projects=127.0.0.1:${admin[projects]}" \
  "tasks=127.0.0.1:${admin[tasks]}" "metrics=127.0.0.1:${admin[metrics]}"
prometheus_port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log "prometheus on 127.0.0.1:$prometheus_port (scrape and evaluation every second)"
prometheus --config.file="$work/prometheus/prometheus.yml" --storage.tsdb.path="$work/prometheus/data" \
  --web.listen-address="127.0.0.1:$prometheus_port" --log.level=warn >"$work/prometheus.log" 2>&1 &
prometheus_pid=$!
if ! "$python" scripts/monitoring/prometheus_api.py "http://127.0.0.1:$prometheus_port" targets-up 5 30; then
  cat "$work/prometheus.log" >&2
  die "not every target became up"
fi
log "stopping devopstrack up: DevOpsTrackServiceDown must become pending or firing for every service"
up_stop
if ! "$python" scripts/monitoring/prometheus_api.py "http://127.0.0.1:$prometheus_port" service-down 5 30; then
  cat "$work/prometheus.log" >&2
  die "DevOpsTrackServiceDown did not turn pending or firing for every service"
fi
log "passed in $((SECONDS - started))s"
