"""Offline policy checks on the parsed Terraform of infra/terraform (python-hcl2).

`terraform validate` needs the registry, so it runs in GitHub Actions only (infra.yml). What can be proved here is
proved on the parsed HCL: module sources and version pins, the backend, required tags, the GitHub OIDC trust, the
control-plane endpoint, the cluster's add-ons. Each `check_*` function takes a `Stack` and returns a list of
problems (empty: the rule holds), so the tests can feed it a mutated copy and see it fail.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import hcl2

ROOT = Path(__file__).resolve().parents[1] / "terraform"

# Registry modules and the version range each must carry (the pins).
MODULE_PINS = {
    "terraform-aws-modules/vpc/aws": "~> 6.0",
    "terraform-aws-modules/eks/aws": "~> 21.0",
    "terraform-aws-modules/iam/aws//modules/iam-oidc-provider": "~> 6.0",
    "terraform-aws-modules/iam/aws//modules/iam-role": "~> 6.0",
    "terraform-aws-modules/eks-pod-identity/aws": "~> 2.0",
}
REQUIRED_TAGS = ("Project", "Environment", "ManagedBy", "Repository")
REQUIRED_ADDONS = {"coredns", "kube-proxy", "vpc-cni", "eks-pod-identity-agent", "aws-ebs-csi-driver"}
# Inputs renamed in terraform-aws-modules/eks v21: the old names would be silently ignored... or fail init.
EKS_V20_NAMES = {
    "cluster_name", "cluster_version", "cluster_addons", "cluster_endpoint_public_access",
    "cluster_endpoint_public_access_cidrs", "cluster_encryption_config", "cluster_enabled_log_types",
}


def unquote(value):
    """python-hcl2 keeps the quotes of string literals and block labels; drop them."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def blocks(parsed: dict, kind: str) -> dict:
    """All `kind "label" {}` blocks of a parsed file, by unquoted label."""
    found = {}
    for entry in parsed.get(kind, []):
        for label, body in entry.items():
            found[unquote(label)] = body
    return found


@dataclass
class Stack:
    """One Terraform directory: parsed files by name, and their raw text."""

    files: dict[str, dict] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path = ROOT) -> "Stack":
        stack = cls()
        for path in sorted(directory.glob("*.tf")):
            stack.text[path.name] = path.read_text(encoding="utf-8")
            with path.open(encoding="utf-8") as handle:
                stack.files[path.name] = hcl2.load(handle)
        for extra in ("backend.hcl.example", "terraform.tfvars.example"):
            if (directory / extra).exists():
                stack.text[extra] = (directory / extra).read_text(encoding="utf-8")
                with (directory / extra).open(encoding="utf-8") as handle:
                    stack.files[extra] = hcl2.load(handle)
        return stack

    def copy(self) -> "Stack":
        return copy.deepcopy(self)

    def all(self, kind: str) -> dict:
        merged = {}
        for name, parsed in self.files.items():
            if name.endswith(".tf"):
                merged.update(blocks(parsed, kind))
        return merged

    def locals(self) -> dict:
        merged = {}
        for name, parsed in self.files.items():
            if name.endswith(".tf"):
                for entry in parsed.get("locals", []):
                    merged.update(entry)
        return merged

    def terraform_blocks(self) -> list:
        return [t for name, p in self.files.items() if name.endswith(".tf") for t in p.get("terraform", [])]


def check_module_pins(stack: Stack) -> list[str]:
    problems = []
    modules = stack.all("module")
    if not modules:
        problems.append("no module blocks found")
    for name, body in modules.items():
        source, version = unquote(body.get("source")), unquote(body.get("version"))
        if source not in MODULE_PINS:
            problems.append(f"module {name}: source {source!r} is not one of the pinned registry modules")
        elif version != MODULE_PINS[source]:
            problems.append(f"module {name}: version {version!r}, expected {MODULE_PINS[source]!r}")
    return problems


def check_versions(stack: Stack) -> list[str]:
    problems = []
    found_required = False
    for block in stack.terraform_blocks():
        if "required_version" in block:
            found_required = True
            required = unquote(block["required_version"])
            if not re.fullmatch(r">= 1\.(1[0-9]|[2-9][0-9])\.\d+, < 2\.0\.0", required):
                problems.append(f"required_version {required!r} must be '>= 1.10.x, < 2.0.0' (S3 lock file)")
        for providers in block.get("required_providers", []):
            for name, spec in providers.items():
                if name.startswith("__"):
                    continue
                version = unquote(spec.get("version", "")) if isinstance(spec, dict) else ""
                if not re.fullmatch(r"~> \d+\.\d+", version):
                    problems.append(f"provider {name}: version {version!r} is not a '~> X.Y' pin")
    if not found_required:
        problems.append("no required_version")
    return problems


def check_backend(stack: Stack) -> list[str]:
    problems = []
    backends = [b for t in stack.terraform_blocks() for entry in t.get("backend", []) for b in entry]
    if [unquote(b) for b in backends] != ["s3"]:
        problems.append(f"backend must be exactly one s3 backend, found {backends}")
    example = {k: unquote(v) for k, v in stack.files.get("backend.hcl.example", {}).items() if not k.startswith("__")}
    for key in ("bucket", "key", "region"):
        if not example.get(key):
            problems.append(f"backend.hcl.example lacks {key}")
    if example.get("use_lockfile") is not True:
        problems.append("backend.hcl.example must set use_lockfile = true (S3 native locking)")
    if example.get("encrypt") is not True:
        problems.append("backend.hcl.example must set encrypt = true")
    return problems


def check_required_tags(stack: Stack) -> list[str]:
    problems = []
    providers = [p for name, parsed in stack.files.items() if name.endswith(".tf") for p in parsed.get("provider", [])]
    aws = [body for entry in providers for label, body in entry.items() if unquote(label) == "aws"]
    if not aws:
        return ["no aws provider block"]
    for body in aws:
        default_tags = body.get("default_tags", [{}])[0].get("tags")
        if default_tags != "${local.tags}":
            problems.append(f"aws provider default_tags must be local.tags, found {default_tags!r}")
    tags = stack.locals().get("tags", "")
    # merge(var.tags, {...}): the required tags come last, so a caller cannot override them.
    match = re.fullmatch(r"\$\{merge\(var\.tags, \{(.*)\}\)\}", tags or "")
    if not match:
        problems.append(f"local.tags must be merge(var.tags, {{required}}), found {tags!r}")
    else:
        for key in REQUIRED_TAGS:
            if not re.search(rf"(^|, ){key} = ", match.group(1)):
                problems.append(f"required tag {key} missing from local.tags")
    return problems


def check_github_trust(stack: Stack) -> list[str]:
    problems = []
    loc = {k: unquote(v) for k, v in stack.locals().items() if isinstance(v, str)}
    expected = {
        "github_main_subject": "repo:${var.github_repository}:ref:refs/heads/main",
        "github_environment_subject": "repo:${var.github_repository}:environment:${var.environment}",
        "github_pr_subject": "repo:${var.github_repository}:pull_request",
    }
    for name, value in expected.items():
        if loc.get(name) != value:
            problems.append(f"local.{name} must be {value!r}, found {loc.get(name)!r}")
    roles = {
        "github_deploy_role": ["${local.github_main_subject}", "${local.github_environment_subject}"],
        "github_terraform_role": ["${local.github_environment_subject}"],
        "github_plan_role": ["${local.github_pr_subject}"],
    }
    modules = stack.all("module")
    for name, subjects in roles.items():
        body = modules.get(name)
        if body is None:
            problems.append(f"module {name} missing")
            continue
        if body.get("enable_github_oidc") is not True:
            problems.append(f"module {name}: enable_github_oidc must be true")
        if body.get("oidc_subjects") != subjects:
            problems.append(f"module {name}: oidc_subjects must be exactly {subjects}, found {body.get('oidc_subjects')}")
        if body.get("oidc_wildcard_subjects"):
            problems.append(f"module {name}: no wildcard subjects")
    if "github_oidc_provider" not in modules:
        problems.append("module github_oidc_provider missing")
    variables = stack.all("variable")
    condition = variables.get("github_repository", {}).get("validation", [{}])[0].get("condition", "")
    pattern = re.search(r'regex\("(.*)", var\.github_repository\)', condition)
    if not pattern:
        problems.append("variable github_repository has no regex validation")
    else:
        regex = pattern.group(1).replace("\\\\", "\\")
        for bad in ("acme/*", "*", "acme", "acme/dev:ops"):
            if re.fullmatch(regex, bad):
                problems.append(f"github_repository validation accepts {bad!r}")
        if not re.fullmatch(regex, "acme/devopstrack"):
            problems.append("github_repository validation refuses acme/devopstrack")
    return problems


def check_endpoint(stack: Stack) -> list[str]:
    problems = []
    eks = stack.all("module").get("eks", {})
    if eks.get("endpoint_public_access_cidrs") != "${local.endpoint_public_access_cidrs}":
        problems.append("module eks: endpoint_public_access_cidrs must be local.endpoint_public_access_cidrs")
    local = stack.locals().get("endpoint_public_access_cidrs")
    expected = '${var.allow_endpoint_from_anywhere ? ["0.0.0.0/0"] : var.endpoint_public_access_cidrs}'
    if local != expected:
        problems.append(f"local.endpoint_public_access_cidrs must be {expected!r}, found {local!r}")
    var = stack.all("variable").get("endpoint_public_access_cidrs", {})
    condition = var.get("validation", [{}])[0].get("condition", "")
    if '!= "0.0.0.0/0"' not in condition:
        problems.append("variable endpoint_public_access_cidrs must refuse 0.0.0.0/0 in its validation")
    default = stack.all("variable").get("allow_endpoint_from_anywhere", {}).get("default")
    if default is not False:
        problems.append("allow_endpoint_from_anywhere must default to false")
    for name, text in stack.text.items():
        if not name.endswith(".tf") or name in ("variables.tf", "locals.tf"):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if "0.0.0.0/0" in line and not line.lstrip().startswith("#"):
                problems.append(f"{name}:{number}: 0.0.0.0/0 outside the opt-in")
    return problems


def check_cluster(stack: Stack) -> list[str]:
    problems = []
    eks = stack.all("module").get("eks")
    if eks is None:
        return ["module eks missing"]
    for old in sorted(EKS_V20_NAMES & set(eks)):
        problems.append(f"module eks: {old} is a v20 input name (v21 renamed it)")
    for key in ("name", "kubernetes_version", "addons", "endpoint_public_access", "encryption_config"):
        if key not in eks:
            problems.append(f"module eks: {key} not set")
    addons = eks.get("addons", {})
    if set(addons) != REQUIRED_ADDONS:
        problems.append(f"module eks: addons {sorted(addons)}, expected {sorted(REQUIRED_ADDONS)}")
    if 'enableNetworkPolicy = "true"' not in str(addons.get("vpc-cni", {}).get("configuration_values", "")):
        problems.append("vpc-cni must enable network policy enforcement")
    if eks.get("encryption_config", {}).get("resources") != ['"secrets"']:
        problems.append("module eks: secrets must be encrypted (encryption_config.resources = [\"secrets\"])")
    if eks.get("create_kms_key") is not True:
        problems.append("module eks: create_kms_key must be true (customer-managed key)")
    logs = {unquote(x) for x in eks.get("enabled_log_types", [])}
    if not {"api", "audit", "authenticator"} <= logs:
        problems.append(f"module eks: control-plane logs {sorted(logs)} lack api/audit/authenticator")
    group = eks.get("eks_managed_node_groups", {}).get("default", {})
    for key, var in (("instance_types", "node_instance_types"), ("min_size", "node_min_size"),
                     ("max_size", "node_max_size"), ("desired_size", "node_desired_size")):
        if group.get(key) != f"${{var.{var}}}":
            problems.append(f"node group {key} must come from var.{var}")
    deploy = stack.locals().get("ci_entries", {}).get("github-deploy", {})
    scope = deploy.get("policy_associations", {}).get("edit", {}).get("access_scope", {})
    if unquote(scope.get("type")) != "namespace" or scope.get("namespaces") != ["${var.app_namespace}"]:
        problems.append("the deploy role's access entry must be scoped to the app namespace only")
    return problems


def check_vpc(stack: Stack) -> list[str]:
    problems = []
    vpc = stack.all("module").get("vpc", {})
    if stack.locals().get("azs") != "${slice(data.aws_availability_zones.available.names, 0, 3)}":
        problems.append("local.azs must be the first three available zones")
    if vpc.get("single_nat_gateway") != "${!var.one_nat_gateway_per_az}" or \
            vpc.get("one_nat_gateway_per_az") != "${var.one_nat_gateway_per_az}":
        problems.append("NAT: one gateway unless var.one_nat_gateway_per_az")
    if stack.all("variable").get("one_nat_gateway_per_az", {}).get("default") is not False:
        problems.append("one_nat_gateway_per_az must default to false (cost)")
    if unquote(vpc.get("public_subnet_tags", {}).get('"kubernetes.io/role/elb"')) != "1":
        problems.append("public subnets need kubernetes.io/role/elb = 1")
    if unquote(vpc.get("private_subnet_tags", {}).get('"kubernetes.io/role/internal-elb"')) != "1":
        problems.append("private subnets need kubernetes.io/role/internal-elb = 1")
    return problems


def check_cluster_defaults(stack: Stack) -> list[str]:
    problems = []
    resources = stack.all("resource")
    text = "\n".join(t for n, t in stack.text.items() if n.endswith(".tf"))
    if 'resource "kubernetes_storage_class_v1" "gp3"' not in text:
        problems.append("no gp3 StorageClass")
    if '"storageclass.kubernetes.io/is-default-class" = "true"' not in text:
        problems.append("the gp3 StorageClass must be the default")
    release = resources.get("helm_release", {}).get('"aws_load_balancer_controller"', {})
    values = " ".join(release.get("values", []))
    for needle in ('createIngressClassResource = true', 'ingressClass = "alb"', "ingressClassConfig = {default = true}"):
        if needle not in values:
            problems.append(f"the load balancer controller values lack {needle}")
    return problems


def check_variables(stack: Stack) -> list[str]:
    problems = []
    variables = stack.all("variable")
    unvalidated_ok = {"one_nat_gateway_per_az", "allow_endpoint_from_anywhere", "create_ecr_repositories",
                      "enable_github_plan_role", "tags"}
    for name, body in variables.items():
        if not unquote(body.get("description", "")):
            problems.append(f"variable {name} has no description")
        if name not in unvalidated_ok and not body.get("validation"):
            problems.append(f"variable {name} has no validation")
    example = {k for k in stack.files.get("terraform.tfvars.example", {}) if not k.startswith("__")}
    for name, body in variables.items():
        if "default" not in body and name not in example:
            problems.append(f"terraform.tfvars.example does not set required variable {name}")
    for name in sorted(example - set(variables)):
        problems.append(f"terraform.tfvars.example sets undeclared variable {name}")
    return problems


def check_outputs(stack: Stack) -> list[str]:
    outputs = stack.all("output")
    wanted = {"cluster_name", "region", "deploy_role_arn", "terraform_role_arn", "kubeconfig_command"}
    return [f"output {name} missing" for name in sorted(wanted - set(outputs))]


CHECKS = [check_module_pins, check_versions, check_backend, check_required_tags, check_github_trust,
          check_endpoint, check_cluster, check_vpc, check_cluster_defaults, check_variables, check_outputs]


def main() -> int:
    stack = Stack.load()
    problems = [p for check in CHECKS for p in check(stack)]
    for problem in problems:
        print(f"infra/terraform: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
