"""Each rule of terraform_policy holds on infra/terraform, and fails on a copy broken the way a careless edit
would break it (a rule that cannot fail proves nothing). Run: .venv/bin/python -m unittest discover infra/tests"""

import unittest

import terraform_policy as policy

STACK = policy.Stack.load()


def module(stack, name):
    return policy.blocks(next(p for p in stack.files.values() if name in policy.blocks(p, "module")), "module")[name]


class TerraformPolicyTests(unittest.TestCase):
    def assert_holds(self, check):
        self.assertEqual(check(STACK), [])

    def assert_fails(self, check, mutate, expected):
        broken = STACK.copy()
        mutate(broken)
        problems = check(broken)
        self.assertTrue(any(expected in p for p in problems), f"{expected!r} not in {problems}")

    def test_registry_modules_carry_their_pinned_major_versions(self):
        self.assert_holds(policy.check_module_pins)
        self.assert_fails(policy.check_module_pins,
                          lambda s: module(s, "eks").update(version='"~> 20.0"'), "expected '~> 21.0'")
        self.assert_fails(policy.check_module_pins,
                          lambda s: module(s, "vpc").update(source='"github.com/someone/vpc"'), "not one of the pinned")

    def test_terraform_and_every_provider_are_pinned(self):
        self.assert_holds(policy.check_versions)

        def unpin(s):
            for block in s.files["versions.tf"]["terraform"]:
                block["required_providers"][0]["helm"]["version"] = '">= 2.0"'
        self.assert_fails(policy.check_versions, unpin, "provider helm")

    def test_state_is_in_s3_with_the_native_lock_file(self):
        self.assert_holds(policy.check_backend)
        self.assert_fails(policy.check_backend,
                          lambda s: s.files["backend.hcl.example"].update(use_lockfile=False), "use_lockfile")
        self.assert_fails(policy.check_backend,
                          lambda s: s.files["backend.tf"]["terraform"][0].update(backend=[{'"local"': {}}]), "s3")

    def test_every_aws_resource_carries_the_required_tags(self):
        self.assert_holds(policy.check_required_tags)

        def drop_owner_tag(s):
            for entry in s.files["locals.tf"]["locals"]:
                if "tags" in entry:
                    entry["tags"] = entry["tags"].replace("Repository = var.github_repository", "Owner = \"x\"")
        self.assert_fails(policy.check_required_tags, drop_owner_tag, "required tag Repository")

    def test_github_roles_trust_only_this_repositorys_main_and_production_environment(self):
        self.assert_holds(policy.check_github_trust)

        def any_branch(s):
            for entry in s.files["locals.tf"]["locals"]:
                if "github_main_subject" in entry:
                    entry["github_main_subject"] = '"repo:${var.github_repository}:*"'
        self.assert_fails(policy.check_github_trust, any_branch, "github_main_subject")
        self.assert_fails(policy.check_github_trust,
                          lambda s: module(s, "github_terraform_role").update(
                              oidc_subjects=["${local.github_main_subject}", "${local.github_pr_subject}"]),
                          "github_terraform_role: oidc_subjects")
        self.assert_fails(policy.check_github_trust,
                          lambda s: module(s, "github_deploy_role").update(oidc_wildcard_subjects=['"acme/*"']),
                          "no wildcard")

    def test_a_repository_name_with_a_wildcard_is_refused(self):
        def loosen(s):
            variables = policy.blocks(s.files["variables.tf"], "variable")
            variables["github_repository"]["validation"][0]["condition"] = \
                '${can(regex("^.+$", var.github_repository))}'
        self.assert_fails(policy.check_github_trust, loosen, "accepts 'acme/*'")

    def test_the_control_plane_is_open_to_everyone_only_when_a_variable_says_so(self):
        self.assert_holds(policy.check_endpoint)

        def open_to_all(s):
            module(s, "eks")["endpoint_public_access_cidrs"] = '["0.0.0.0/0"]'
            s.text["eks.tf"] += '\n  endpoint_public_access_cidrs = ["0.0.0.0/0"]\n'
        self.assert_fails(policy.check_endpoint, open_to_all, "0.0.0.0/0 outside the opt-in")
        self.assert_fails(policy.check_endpoint, open_to_all, "must be local.endpoint_public_access_cidrs")

    def test_the_cluster_uses_v21_inputs_with_addons_encryption_and_logs(self):
        self.assert_holds(policy.check_cluster)
        self.assert_fails(policy.check_cluster,
                          lambda s: module(s, "eks").update(cluster_version='"1.35"'), "v20 input name")
        self.assert_fails(policy.check_cluster,
                          lambda s: module(s, "eks")["addons"].pop("aws-ebs-csi-driver"), "addons")
        self.assert_fails(policy.check_cluster,
                          lambda s: module(s, "eks")["addons"]["vpc-cni"].pop("configuration_values"),
                          "network policy")

    def test_the_deploy_role_edits_only_the_app_namespace(self):
        def cluster_wide(s):
            for entry in s.files["eks.tf"]["locals"]:
                if "ci_entries" in entry:
                    entry["ci_entries"]["github-deploy"]["policy_associations"]["edit"]["access_scope"] = \
                        {"type": '"cluster"'}
        self.assert_fails(policy.check_cluster, cluster_wide, "app namespace")

    def test_the_vpc_has_three_azs_tagged_subnets_and_one_nat_by_default(self):
        self.assert_holds(policy.check_vpc)
        self.assert_fails(policy.check_vpc,
                          lambda s: module(s, "vpc").update(public_subnet_tags={}), "kubernetes.io/role/elb")
        self.assert_fails(policy.check_vpc,
                          lambda s: module(s, "vpc").update(single_nat_gateway=False), "NAT")

    def test_gp3_is_the_default_storage_class_and_alb_the_default_ingress_class(self):
        self.assert_holds(policy.check_cluster_defaults)
        self.assert_fails(policy.check_cluster_defaults,
                          lambda s: s.text.update({"kubernetes.tf": s.text["kubernetes.tf"].replace(
                              '"storageclass.kubernetes.io/is-default-class" = "true"', "")}),
                          "must be the default")

    def test_every_variable_is_described_validated_and_set_in_the_example(self):
        self.assert_holds(policy.check_variables)
        self.assert_fails(policy.check_variables,
                          lambda s: policy.blocks(s.files["variables.tf"], "variable")["vpc_cidr"].pop("validation"),
                          "vpc_cidr has no validation")
        self.assert_fails(policy.check_variables,
                          lambda s: s.files["terraform.tfvars.example"].pop("github_repository"),
                          "required variable github_repository")

    def test_outputs_name_the_cluster_region_roles_and_kubeconfig_command(self):
        self.assert_holds(policy.check_outputs)
        self.assert_fails(policy.check_outputs,
                          lambda s: s.files["outputs.tf"]["output"].pop(0), "output cluster_name missing")


if __name__ == "__main__":
    unittest.main()
