# Three AZs: nodes in private subnets, load balancers in public ones. One NAT gateway by default (about
# 33 USD a month each plus traffic); one_nat_gateway_per_az = true keeps egress up through an AZ outage.
module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "~> 6.0"

  name = var.name
  cidr = var.vpc_cidr

  azs             = local.azs
  private_subnets = local.private_subnets
  public_subnets  = local.public_subnets

  enable_nat_gateway     = true
  single_nat_gateway     = !var.one_nat_gateway_per_az
  one_nat_gateway_per_az = var.one_nat_gateway_per_az

  enable_dns_hostnames = true
  enable_dns_support   = true

  # The AWS Load Balancer Controller finds its subnets by these tags: internet-facing ALBs in public subnets,
  # internal ones in private subnets.
  public_subnet_tags = {
    "kubernetes.io/role/elb" = "1"
  }
  private_subnet_tags = {
    "kubernetes.io/role/internal-elb" = "1"
  }
}
