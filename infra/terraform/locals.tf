data "aws_availability_zones" "available" {
  state = "available"

  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

locals {
  azs = slice(data.aws_availability_zones.available.names, 0, 3)

  # Private /20s for the nodes (4k pod IPs each with the VPC CNI), public /24s for the load balancers.
  private_subnets = [for i in range(3) : cidrsubnet(var.vpc_cidr, 4, i)]
  public_subnets  = [for i in range(3) : cidrsubnet(var.vpc_cidr, 8, 48 + i)]

  # The only place 0.0.0.0/0 may reach the control plane: an explicit opt-in.
  endpoint_public_access_cidrs = var.allow_endpoint_from_anywhere ? ["0.0.0.0/0"] : var.endpoint_public_access_cidrs

  services = ["auth", "projects", "tasks", "metrics", "gateway"]

  # Required tags: the caller's extra tags first, so these win.
  tags = merge(var.tags, {
    Project     = "devopstrack"
    Environment = var.environment
    ManagedBy   = "terraform"
    Repository  = var.github_repository
  })

  # GitHub OIDC subjects (the `sub` claim): a job on main, or a job that runs in the production environment.
  github_main_subject        = "repo:${var.github_repository}:ref:refs/heads/main"
  github_environment_subject = "repo:${var.github_repository}:environment:${var.environment}"
  github_pr_subject          = "repo:${var.github_repository}:pull_request"
}
