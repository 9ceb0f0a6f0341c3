provider "aws" {
  region = var.region

  # Every resource the AWS provider creates carries these tags (cost allocation, ownership, clean-up).
  default_tags {
    tags = local.tags
  }
}

# The Kubernetes and Helm providers talk to the cluster this stack creates, with a short-lived token from
# `aws eks get-token` (the AWS CLI must be on PATH: it is on GitHub's runners and in the README's steps).
provider "kubernetes" {
  host                   = module.eks.cluster_endpoint
  cluster_ca_certificate = base64decode(module.eks.cluster_certificate_authority_data)

  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name, "--region", var.region]
  }
}

provider "helm" {
  kubernetes = {
    host                   = module.eks.cluster_endpoint
    cluster_ca_certificate = base64decode(module.eks.cluster_certificate_authority_data)

    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name, "--region", var.region]
    }
  }
}
