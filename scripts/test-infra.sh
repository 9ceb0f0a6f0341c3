#!/usr/bin/env bash
# Offline checks of the infrastructure code (`make test` runs this; so does `make test-infra`):
#   1. terraform fmt -check -recursive infra/terraform             (terraform on PATH)
#   2. infra/tests: policy assertions on the parsed HCL (python-hcl2) and the workflow checker's own tests
#   3. checkov --framework terraform,kubernetes,dockerfile,github_actions --skip-download on infra/terraform,
#      .github/workflows and deploy/ (deploy/ once it holds manifests or Dockerfiles), with the skip list below
# `terraform init`/`validate` and tflint need the registry: they run in GitHub Actions (infra.yml) only.
#
#   scripts/test-infra.sh                  run the checks
#   scripts/test-infra.sh --install-tools  only install the pinned tools (what .ci/run and ci.yml call):
#                                          python-hcl2 into .venv, checkov into its own .venv-checkov (~290 MB)
# A missing tool prints a WARNING and its check is skipped, unless DEVOPSTRACK_REQUIRE_BACKENDS=1 (CI): then it fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON_HCL2_VERSION=8.1.4
PYYAML_VERSION=6.0.3
CHECKOV_VERSION=3.3.30
CHECKOV_VENV=${DEVOPSTRACK_CHECKOV_VENV:-.venv-checkov}

log() { printf '==> %s\n' "$*"; }
# shellcheck disable=SC1091 # sourced at run time; it defines `missing WHAT SKIPPED`
source scripts/lib/missing.sh

if [[ "${1:-}" == --install-tools ]]; then
  [[ -x .venv/bin/python3 ]] || python3 -m venv .venv
  log "pip install python-hcl2==$PYTHON_HCL2_VERSION pyyaml==$PYYAML_VERSION into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check "python-hcl2==$PYTHON_HCL2_VERSION" "pyyaml==$PYYAML_VERSION"
  # checkov pins its own fork of the HCL parser (module `hcl2` too): it gets a venv of its own.
  if ! "$CHECKOV_VENV/bin/checkov" --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
    log "pip install checkov==$CHECKOV_VERSION into $CHECKOV_VENV"
    python3 -m venv "$CHECKOV_VENV"
    "$CHECKOV_VENV/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
  fi
  exit 0
fi

# A TF_CLI_CONFIG_FILE that names a missing file only makes terraform print a warning on every call.
if [[ -n "${TF_CLI_CONFIG_FILE:-}" && ! -f "$TF_CLI_CONFIG_FILE" ]]; then
  unset TF_CLI_CONFIG_FILE
fi
if command -v terraform >/dev/null 2>&1; then
  log "terraform fmt -check -recursive infra/terraform ($(terraform version | head -n 1))"
  terraform fmt -check -recursive -diff infra/terraform
else
  printf 'NOTICE: terraform is not installed here: SKIPPED terraform fmt (infra.yml runs it in GitHub Actions)\n' >&2
fi

if [[ -x .venv/bin/python ]] && .venv/bin/python -c 'import hcl2, yaml' >/dev/null 2>&1; then
  log "infra/tests (python-hcl2 $(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("python-hcl2"))'))"
  .venv/bin/python -m unittest discover -s infra/tests
else
  missing "python-hcl2/PyYAML in .venv" "the Terraform policy tests (scripts/test-infra.sh --install-tools)"
fi

# Skipped checkov rules, each with its reason:
skips=(
  CKV_TF_1          # registry modules are pinned by version range + .terraform.lock.hcl, as the issue asks, not by git hash
  CKV_AWS_394       # the stack takes the first three AZ names; AWS adds new zones at the end of the list
  CKV_AWS_18        # state bucket access logs would need a second bucket; CloudTrail data events cover it if wanted
  CKV_AWS_144       # cross-region replication of the state bucket: cost; versioning keeps every state
  CKV2_AWS_62       # S3 event notifications on the state bucket: nothing consumes them
)
if [[ -x "$CHECKOV_VENV/bin/checkov" ]]; then
  dirs=(-d infra/terraform -d .github)
  # deploy/ (images and manifests) is scanned once it holds more than its README.
  if find deploy -type f ! -name '*.md' 2>/dev/null | grep -q .; then
    dirs+=(-d deploy)
  fi
  log "checkov $("$CHECKOV_VENV/bin/checkov" --version) ${dirs[*]}"
  started=$SECONDS
  "$CHECKOV_VENV/bin/checkov" "${dirs[@]}" --framework terraform kubernetes dockerfile github_actions \
    --skip-download --compact --quiet --skip-check "$(IFS=,; echo "${skips[*]}")"
  log "checkov passed in $((SECONDS - started))s"
else
  missing checkov "checkov on infra/, .github/ and deploy/ (scripts/test-infra.sh --install-tools)"
fi

log "infra checks passed"
