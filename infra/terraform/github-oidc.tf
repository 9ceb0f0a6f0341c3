# GitHub Actions authenticates to AWS with OIDC: no long-lived keys in the repository's secrets.
module "github_oidc_provider" {
  source  = "terraform-aws-modules/iam/aws//modules/iam-oidc-provider"
  version = "~> 6.0"

  url = "https://token.actions.githubusercontent.com"
}

# Deploys DevOpsTrack (deploy-eks.yml): trusted only for this repository's main branch and its production
# environment; may describe the cluster, and its access entry (eks.tf) edits only the app namespace.
module "github_deploy_role" {
  source  = "terraform-aws-modules/iam/aws//modules/iam-role"
  version = "~> 6.0"

  name               = "${var.name}-github-deploy"
  description        = "GitHub Actions deploy of ${var.github_repository} to EKS ${var.name}"
  enable_github_oidc = true
  oidc_subjects      = [local.github_main_subject, local.github_environment_subject]

  create_inline_policy = true
  inline_policy_permissions = {
    DescribeCluster = {
      actions   = ["eks:DescribeCluster"]
      resources = [module.eks.cluster_arn]
    }
  }

  depends_on = [module.github_oidc_provider]
}

# Applies this stack (infra.yml on main): trusted only for jobs in the production environment, whose required
# reviewers gate every apply.
module "github_terraform_role" {
  source  = "terraform-aws-modules/iam/aws//modules/iam-role"
  version = "~> 6.0"

  name               = "${var.name}-github-terraform"
  description        = "GitHub Actions terraform apply of ${var.github_repository} (production environment)"
  enable_github_oidc = true
  oidc_subjects      = [local.github_environment_subject]

  policies = var.terraform_role_policy_arns

  depends_on = [module.github_oidc_provider]
}

# Plans pull requests (infra.yml): read-only AWS access plus the state bucket's objects and lock files. Pull
# requests from forks get no OIDC token at all, so this trusts the repository's own branches only.
module "github_plan_role" {
  source  = "terraform-aws-modules/iam/aws//modules/iam-role"
  version = "~> 6.0"

  create = var.enable_github_plan_role

  name               = "${var.name}-github-plan"
  description        = "GitHub Actions terraform plan of ${var.github_repository} pull requests (read-only)"
  enable_github_oidc = true
  oidc_subjects      = [local.github_pr_subject]

  policies = {
    ReadOnlyAccess = "arn:aws:iam::aws:policy/ReadOnlyAccess"
  }

  create_inline_policy = true
  inline_policy_permissions = {
    StateRead = {
      actions   = ["s3:GetObject", "s3:ListBucket"]
      resources = ["arn:aws:s3:::${var.state_bucket}", "arn:aws:s3:::${var.state_bucket}/*"]
    }
    StateLock = {
      actions   = ["s3:PutObject", "s3:DeleteObject"]
      resources = ["arn:aws:s3:::${var.state_bucket}/*.tflock"]
    }
    ClusterToken = {
      actions   = ["eks:DescribeCluster"]
      resources = [module.eks.cluster_arn]
    }
  }

  depends_on = [module.github_oidc_provider]
}
