# The cluster: terraform-aws-modules/eks v21 input names (`name`, `kubernetes_version`, `addons`,
# `endpoint_public_access`, `encryption_config`, `enabled_log_types`, ...).
module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 21.0"

  name               = var.name
  kubernetes_version = var.kubernetes_version

  vpc_id     = module.vpc.vpc_id
  subnet_ids = module.vpc.private_subnets

  # Public endpoint for kubectl and the GitHub runners, limited to the CIDRs in the variables (0.0.0.0/0 only
  # with allow_endpoint_from_anywhere); the private endpoint serves the nodes.
  endpoint_public_access       = true
  endpoint_private_access      = true
  endpoint_public_access_cidrs = local.endpoint_public_access_cidrs

  # Access entries only (no aws-auth ConfigMap), and no implicit admin for whoever applies: the admins are named.
  authentication_mode                      = "API"
  enable_cluster_creator_admin_permissions = false
  access_entries                           = local.access_entries

  # Kubernetes Secrets are envelope-encrypted with a customer-managed KMS key that the module creates; the
  # roles that apply this stack administer the key.
  create_kms_key          = true
  enable_kms_key_rotation = true
  kms_key_administrators  = concat(var.cluster_admin_arns, [module.github_terraform_role.arn])
  encryption_config = {
    resources = ["secrets"]
  }

  # Control-plane logs, kept log_retention_days in CloudWatch.
  enabled_log_types                      = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
  create_cloudwatch_log_group            = true
  cloudwatch_log_group_retention_in_days = var.log_retention_days

  addons = {
    coredns    = {}
    kube-proxy = {}
    eks-pod-identity-agent = {
      before_compute = true
    }
    vpc-cni = {
      before_compute = true
      # NetworkPolicy objects are enforced (the all-in-one ships a default-deny policy set).
      configuration_values = jsonencode({
        enableNetworkPolicy = "true"
      })
    }
    aws-ebs-csi-driver = {
      pod_identity_association = [{
        role_arn        = module.ebs_csi_pod_identity.iam_role_arn
        service_account = "ebs-csi-controller-sa"
      }]
    }
  }

  eks_managed_node_groups = {
    default = {
      ami_type       = var.node_ami_type
      instance_types = var.node_instance_types

      min_size     = var.node_min_size
      max_size     = var.node_max_size
      desired_size = var.node_desired_size
    }
  }
}

locals {
  admin_policy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

  admin_entries = {
    for i, arn in var.cluster_admin_arns : "admin-${i}" => {
      principal_arn = arn
      policy_associations = {
        admin = {
          policy_arn   = local.admin_policy
          access_scope = { type = "cluster" }
        }
      }
    }
  }

  ci_entries = {
    # Applies this stack (Helm releases, the StorageClass, the namespace) from the production environment.
    github-terraform = {
      principal_arn = module.github_terraform_role.arn
      policy_associations = {
        admin = {
          policy_arn   = local.admin_policy
          access_scope = { type = "cluster" }
        }
      }
    }
    # Deploys DevOpsTrack: edit rights inside its namespace, nothing cluster-wide.
    github-deploy = {
      principal_arn = module.github_deploy_role.arn
      policy_associations = {
        edit = {
          policy_arn = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
          access_scope = {
            type       = "namespace"
            namespaces = [var.app_namespace]
          }
        }
      }
    }
  }

  # Plans pull requests: reads the cluster (Helm keeps release state in Secrets, hence the admin *view*).
  plan_entries = var.enable_github_plan_role ? {
    github-plan = {
      principal_arn = module.github_plan_role.arn
      policy_associations = {
        view = {
          policy_arn   = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy"
          access_scope = { type = "cluster" }
        }
      }
    }
  } : {}

  access_entries = merge(local.admin_entries, local.ci_entries, local.plan_entries)
}

module "ebs_csi_pod_identity" {
  source  = "terraform-aws-modules/eks-pod-identity/aws"
  version = "~> 2.0"

  name                      = "${var.name}-ebs-csi"
  attach_aws_ebs_csi_policy = true
}
