# Inputs. Every one has a description and, where a wrong value would only fail deep inside an AWS API call,
# a validation that fails at plan time with a sentence naming the variable.

variable "region" {
  description = "AWS region of the cluster, e.g. eu-west-1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "name" {
  description = "Name of the EKS cluster and prefix of everything this stack creates."
  type        = string
  default     = "devopstrack"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Environment tag value; also the GitHub environment whose jobs may deploy and apply."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.environment))
    error_message = "environment must be lower-case letters, digits or hyphens (a GitHub environment name)."
  }
}

variable "github_repository" {
  description = "The GitHub repository (owner/name) whose workflows may assume the roles, e.g. acme/devopstrack."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be owner/name, without wildcards."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes <major>.<minor> of the control plane (one in EKS standard support)."
  type        = string
  default     = "1.35"

  validation {
    condition     = can(regex("^1\\.(3[3-9])$", var.kubernetes_version))
    error_message = "kubernetes_version must be 1.33 or newer, as <major>.<minor> (e.g. 1.35)."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC; a /16 leaves room for three private /20s and three public /24s."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && tonumber(split("/", var.vpc_cidr)[1]) <= 18
    error_message = "vpc_cidr must be an IPv4 CIDR of size /18 or larger, e.g. 10.40.0.0/16."
  }
}

variable "one_nat_gateway_per_az" {
  description = "One NAT gateway per availability zone (survives an AZ outage, triples the NAT cost) instead of one shared."
  type        = bool
  default     = false
}

variable "node_instance_types" {
  description = "EC2 instance types of the managed node group (first available wins)."
  type        = list(string)
  default     = ["t3.large"]

  validation {
    condition     = length(var.node_instance_types) > 0 && alltrue([for t in var.node_instance_types : can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", t))])
    error_message = "node_instance_types must list at least one instance type such as t3.large."
  }
}

variable "node_ami_type" {
  description = "AMI type of the nodes: AL2023_x86_64_STANDARD, or AL2023_ARM_64_STANDARD with Graviton instance types."
  type        = string
  default     = "AL2023_x86_64_STANDARD"

  validation {
    condition     = contains(["AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD", "BOTTLEROCKET_x86_64", "BOTTLEROCKET_ARM_64"], var.node_ami_type)
    error_message = "node_ami_type must be AL2023_x86_64_STANDARD, AL2023_ARM_64_STANDARD, BOTTLEROCKET_x86_64 or BOTTLEROCKET_ARM_64."
  }
}

variable "node_min_size" {
  description = "Minimum number of nodes."
  type        = number
  default     = 2

  validation {
    condition     = var.node_min_size >= 1 && floor(var.node_min_size) == var.node_min_size
    error_message = "node_min_size must be a whole number of at least 1."
  }
}

variable "node_max_size" {
  description = "Maximum number of nodes."
  type        = number
  default     = 4

  validation {
    condition     = var.node_max_size >= var.node_min_size && var.node_max_size <= 100
    error_message = "node_max_size must be at least node_min_size and at most 100."
  }
}

variable "node_desired_size" {
  description = "Nodes at creation (later changes are left to an autoscaler: the EKS module ignores drift here)."
  type        = number
  default     = 2

  validation {
    condition     = var.node_desired_size >= var.node_min_size && var.node_desired_size <= var.node_max_size
    error_message = "node_desired_size must lie between node_min_size and node_max_size."
  }
}

variable "endpoint_public_access_cidrs" {
  description = "CIDRs that may reach the public Kubernetes API endpoint (your office or VPN). 0.0.0.0/0 is refused here: set allow_endpoint_from_anywhere instead."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.endpoint_public_access_cidrs : can(cidrnetmask(c)) && c != "0.0.0.0/0"])
    error_message = "endpoint_public_access_cidrs must be IPv4 CIDRs other than 0.0.0.0/0 (use allow_endpoint_from_anywhere for that)."
  }
}

variable "allow_endpoint_from_anywhere" {
  description = "Open the public Kubernetes API endpoint to 0.0.0.0/0 (IAM still authenticates every call). Needed for GitHub-hosted runners, whose addresses are not a short list."
  type        = bool
  default     = false
}

variable "cluster_admin_arns" {
  description = "IAM users or roles that get cluster-admin access entries (the person running the first apply must be one)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.cluster_admin_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", a))])
    error_message = "cluster_admin_arns must be IAM user or role ARNs (arn:aws:iam::123456789012:role/Name)."
  }
}

variable "app_namespace" {
  description = "Kubernetes namespace of DevOpsTrack; the deploy role may act only inside it."
  type        = string
  default     = "devopstrack"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.app_namespace))
    error_message = "app_namespace must be a DNS label (lower-case letters, digits, hyphens)."
  }
}

variable "create_ecr_repositories" {
  description = "Also create one ECR repository per service (immutable tags, scan on push) for teams that mirror images from GHCR."
  type        = bool
  default     = false
}

variable "state_bucket" {
  description = "Name of the S3 bucket holding this stack's state (bootstrap output); the plan role gets read access to it and its lock files."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket))
    error_message = "state_bucket must be an S3 bucket name."
  }
}

variable "enable_github_plan_role" {
  description = "Create a read-only role that pull requests of this repository assume to run terraform plan."
  type        = bool
  default     = true
}

variable "terraform_role_policy_arns" {
  description = "Managed policies of the role that applies this stack from the production environment."
  type        = map(string)
  default     = { AdministratorAccess = "arn:aws:iam::aws:policy/AdministratorAccess" }

  validation {
    condition     = alltrue([for a in values(var.terraform_role_policy_arns) : can(regex("^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/.+$", a))])
    error_message = "terraform_role_policy_arns must map names to IAM policy ARNs."
  }
}

variable "log_retention_days" {
  description = "Retention of the control-plane logs in CloudWatch, in days."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch's retention periods (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "lb_controller_chart_version" {
  description = "Version of the aws-load-balancer-controller Helm chart (eks-charts)."
  type        = string
  default     = "1.14.0"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.lb_controller_chart_version))
    error_message = "lb_controller_chart_version must be an exact chart version such as 1.14.0."
  }
}

variable "tags" {
  description = "Extra tags on every resource (the required ones are set in locals.tf and win)."
  type        = map(string)
  default     = {}
}
