#!/usr/bin/env bash
# Creates or updates the Secret `devopstrack-secrets` that the manifests (deploy/k8s, deploy/k8s/all-in-one.yaml)
# reference, in the current kubectl context. Run it before the first `kubectl apply`, and again whenever you change a
# value; it is idempotent.
#
#   scripts/k8s-secrets.sh                   the Secret in namespace $NAMESPACE (default devopstrack), created first
#                                            if missing (the Secret needs its namespace before the all-in-one exists)
#   scripts/k8s-secrets.sh --env-file FILE   only write the values to FILE (what the k3d overlay's secretGenerator
#                                            reads), touching no cluster
#
# Values (the keys are listed in scripts/gen-env.sh): a non-empty environment variable of the same name wins (CI passes
# its secrets so; a managed store's URL, e.g. DEVOPSTRACK_AUTH__DATABASE_URL=postgres://…rds.amazonaws.com/auth),
# then the value already in the Secret, then a new random one. Nothing is printed but key names.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

namespace=${NAMESPACE:-devopstrack}
name=devopstrack-secrets

if [[ "${1:-}" == --env-file ]]; then
  exec scripts/gen-env.sh "${2:?usage: scripts/k8s-secrets.sh --env-file FILE}"
fi
[[ $# -eq 0 ]] || {
  echo "usage: scripts/k8s-secrets.sh [--env-file FILE]" >&2
  exit 2
}
command -v kubectl >/dev/null || {
  echo "k8s-secrets: kubectl is not on PATH" >&2
  exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 0700 "$work"
env_file="$work/secrets.env"

if ! kubectl get namespace "$namespace" >/dev/null 2>&1; then
  echo "k8s-secrets: creating namespace $namespace"
  kubectl create namespace "$namespace"
fi

# The values already in the cluster, decoded, so that gen-env.sh keeps them.
if kubectl -n "$namespace" get secret "$name" >/dev/null 2>&1; then
  # shellcheck disable=SC2016 # a Go template, not a shell expansion
  kubectl -n "$namespace" get secret "$name" \
    -o go-template='{{range $k, $v := .data}}{{$k}} {{$v}}{{"\n"}}{{end}}' |
    while read -r key encoded; do
      printf '%s=%s\n' "$key" "$(printf '%s' "$encoded" | base64 -d)"
    done >"$env_file"
  echo "k8s-secrets: updating $namespace/$name (existing values kept unless set in the environment)"
else
  echo "k8s-secrets: creating $namespace/$name"
fi

scripts/gen-env.sh "$env_file"
grep -v '^#' "$env_file" >"$work/data.env"
kubectl -n "$namespace" create secret generic "$name" --from-env-file="$work/data.env" --dry-run=client -o yaml |
  kubectl label --local -f - -o yaml app.kubernetes.io/part-of=devopstrack app.kubernetes.io/name=devopstrack-secrets |
  kubectl apply -f - >/dev/null
echo "k8s-secrets: $namespace/$name holds: $(cut -d= -f1 "$work/data.env" | tr '\n' ' ')"
