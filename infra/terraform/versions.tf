# Versions are pinned three ways: Terraform itself, each provider (a `~>` range that the committed
# .terraform.lock.hcl narrows to one build), and each registry module (a major-version range).
terraform {
  # 1.10 brought the S3 backend's native lock file (`use_lockfile`); 1.9 cross-variable validation.
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.38"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.0"
    }
  }
}
